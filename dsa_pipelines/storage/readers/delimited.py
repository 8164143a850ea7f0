"""CSV and other delimited text, read by DuckDB as a stream of record batches.

Opening a file never holds it in memory as a whole:

1. the header line is read with Python's ``csv`` module to check the column names
   ourselves (DuckDB would silently rename a duplicate ``a`` to ``a_1``);
2. the column types are sniffed by DuckDB from a sample (a ``LIMIT 0`` query); where the
   upload replaces a stored table, that table's types are tried first where the text
   fits them (:mod:`.type_hints`);
3. :attr:`SourceTable.batches` streams the file in ONE pass that converts every value and
   finds ragged rows, bad UTF-8, NUL bytes and a header without rows. If a value late in
   the file does not fit the types tried, the stream raises
   :class:`~dsa_pipelines.storage.errors.SourceRestart` with the source read with the
   next types (sniffed, then detected from the whole file, ``sample_size=-1``), and
   ingest starts over — before anything durable was written. So a file is read once on
   the common path and a second time only when its sample misled the sniffer.

Where a problem lies (line, byte offset) is worked out only on the error path.

Dialect: ``"`` quotes and is escaped by doubling (RFC 4180); no comment lines; no
skipped lines; blank lines are skipped (in a one-column file a blank line is a
NULL). The delimiter is a tab for ``.tsv``, else the
most frequent of ``, ; <tab> |`` on the header line (``,`` for ``.csv`` on a tie, tab
for ``.txt``). Header names are stripped of surrounding whitespace (as DuckDB does).

A NUL byte anywhere in the file is refused (naming line, field and byte offset): text
files never hold one, and no spreadsheet could show it. A line may hold at most
``$DSA_CSV_MAX_LINE_BYTES`` bytes (default 2,000,000, DuckDB's own default); a longer
one is an error naming it.

Empty values: an empty unquoted field is NULL; a quoted empty field ``""`` is the empty
string. This is the rule of PostgreSQL's and DuckDB's CSV export, so exporting a
table and uploading the file again reproduces it exactly. (A writer that quotes every
field writes a missing number as ``""``; that column is then read as text.)
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dsa_pipelines import settings

from .. import engine
from ..errors import InvalidFile, ResourceLimit, SourceRestart
from .sniff import find_invalid_utf8, nul_byte_error
from .source import (
    SourceTable,
    batch_rows,
    check_column_names,
    conform_batch,
    invalid_file,
    plain_schema,
)
from .type_hints import pinned_types

_CANDIDATES = {"csv": ",;\t|", "txt": "\t,;|"}
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMN = re.compile(r'converting column "((?:[^"]|"")*)"')
_CONVERTING = re.compile(r'Error when converting column "(?:[^"]|"")*"\. (.*?)(?:\n\n|$)', re.DOTALL)
_MAX_LINE = re.compile(r"Maximum line size of (\d+) bytes")
_OPTIONS = (
    "header=true, delim=$delim, quote='\"', escape='\"', comment='', skip=0, "
    "strict_mode=true, null_padding=false, ignore_errors=false, allow_quoted_nulls=false, "
    "encoding='utf-8', names=$names, max_line_size=$max_line"
)
DEFAULT_MAX_LINE_BYTES = 2_000_000
_SCAN_CHUNK = 1 << 22


def max_line_bytes() -> int:
    """The longest CSV line accepted, ``DSA_CSV_MAX_LINE_BYTES`` (default 2,000,000)."""
    return settings.current().csv_max_line_bytes


@dataclass(frozen=True)
class _Options:
    """The settled ``read_csv`` options for one file."""

    delimiter: str
    names: tuple[str, ...]
    full_detection: bool = False
    types: tuple[tuple[str, str], ...] = ()

    def query(self, select: str = "*") -> str:
        extra = ""
        if self.full_detection:
            extra += ", sample_size=-1"
        if self.types:
            extra += ", types=$types"
        return f"SELECT {select} FROM read_csv($path, {_OPTIONS}{extra})"

    def params(self, path: Path) -> dict[str, object]:
        params: dict[str, object] = {"path": str(path), "delim": self.delimiter, "names": list(self.names),
                                     "max_line": max_line_bytes()}
        if self.types:
            params["types"] = dict(self.types)
        return params


def open_delimited(path: Path, *, fmt: str, name: str, origin: str, stored: pa.Schema | None = None) -> SourceTable:
    """Open a CSV/TSV/TXT file as a :class:`SourceTable`.

    A file with a header but no data rows is rejected: an upload with no rows is
    almost always a mistake (a truncated export, the wrong file), not an intent to
    empty the table.

    Args:
        path: The file (already checked to be non-empty text).
        fmt: ``csv``, ``tsv`` or ``txt`` (chooses the delimiter rule).
        name: The table name.
        origin: The file as named in messages.
        stored: The schema of the table this upload replaces, if any: its types are kept
            where the text fits them (see :mod:`.type_hints`).

    Returns:
        The source table (read in one pass by its ``batches``; see the module docstring).

    Raises:
        InvalidFile: Bad UTF-8 (with byte offset and line), a bad header, a row with
            more or fewer fields than the header (with its line), a header but no
            rows, or a value DuckDB cannot parse (with line and column).
    """
    first_line = _read_first_line(path, origin)
    delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(first_line, _CANDIDATES[fmt])
    header = _parse_header(path, origin, delimiter)
    names = [h.strip() for h in header]
    check_column_names(names, origin=origin, path=str(path))
    detected = _Options(delimiter, tuple(names))
    schema = _schema(path, origin, detected)
    pinned = pinned_types(schema, stored) if stored is not None else {}
    # The types to try, in order: the stored table's where they apply, then the types sniffed
    # from a sample, then the types of the whole file. Each later one is read only if a value
    # did not fit the one before (SourceRestart: ingest starts over; nothing durable was written).
    attempts: list[_Options] = [_pin(detected, pinned)] if pinned else []
    attempts.append(detected)
    return _attempt(path, name, origin, attempts, pinned, 0)


def _pin(options: _Options, pinned: dict[str, str]) -> _Options:
    return _Options(options.delimiter, options.names, options.full_detection,
                    tuple({**dict(options.types), **pinned}.items()))


def _attempt(path: Path, name: str, origin: str, attempts: list[_Options], pinned: dict[str, str],
             index: int) -> SourceTable:
    """The source read with ``attempts[index]``; a value that does not fit restarts with the next."""
    options = attempts[index]
    schema = _schema(path, origin, options)

    def next_source() -> SourceTable | None:
        if index + 1 < len(attempts):
            return _attempt(path, name, origin, attempts, pinned, index + 1)
        if not options.full_detection:  # last resort: the types of the whole file (pinned where they fit)
            full = _settle_types(path, origin, options)
            more = [_pin(full, pinned), full] if pinned else [full]
            return _attempt(path, name, origin, [*attempts, *more], pinned, index + 1)
        return None

    def batches() -> Iterator[pa.RecordBatch]:
        return _stream(path, origin, options, schema, next_source)

    return SourceTable(name=name, origin=origin, schema=schema, batches=batches)


def _schema(path: Path, origin: str, options: _Options) -> pa.Schema:
    """The Arrow schema DuckDB gives the file with ``options`` (a sample is sniffed, no full pass)."""
    con = _connect(len(options.names))
    try:
        return plain_schema(con.sql(options.query() + " LIMIT 0", params=options.params(path)).to_arrow_table().schema)
    except duckdb.Error as e:
        raise _error(path, origin, options, e) from e
    finally:
        con.close()


def _check_no_nul(path: Path, origin: str) -> None:
    """Refuse a NUL byte anywhere in the file (one memchr pass, 4 MiB at a time)."""
    with path.open("rb") as f:
        offset, line, carry = 0, 1, b""
        while chunk := f.read(_SCAN_CHUNK):
            at = chunk.find(b"\x00")
            if at >= 0:
                data = carry + chunk
                raise nul_byte_error(origin, data, len(carry) + at, offset - len(carry), line, path=str(path))
            tail = chunk.rfind(b"\n")
            carry = chunk[tail + 1:] if tail >= 0 else carry + chunk  # the unfinished line, for the field count
            carry = carry[-(1 << 20):]
            offset += len(chunk)
            line += chunk.count(b"\n")


def _read_first_line(path: Path, origin: str) -> str:
    """The first physical line (for delimiter sniffing), decoded; checks it is UTF-8."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first_line = f.readline(1 << 20)
    except UnicodeDecodeError as e:
        raise _utf8_error(path, origin) from e
    if not first_line.strip("\r\n"):
        problem = "has no header row" if not first_line else "line 1 is empty; the first line must be the header"
        raise invalid_file(f"{origin}: {problem}", path=str(path), line=1)
    return first_line


def _parse_header(path: Path, origin: str, delimiter: str) -> list[str]:
    """The header record as the ``csv`` module reads it with ``delimiter``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return next(csv.reader(f, delimiter=delimiter, quotechar='"', doublequote=True, strict=True))
    except UnicodeDecodeError as e:
        raise _utf8_error(path, origin) from e
    except csv.Error as e:
        raise invalid_file(f"{origin}, line 1: cannot parse the header: {e}", path=str(path), line=1) from e


def _sniff_delimiter(line: str, candidates: str) -> str:
    """The candidate occurring most often outside quotes on ``line`` (first wins ties)."""
    bare = _QUOTED.sub("", line)
    counts = [bare.count(c) for c in candidates]
    return candidates[counts.index(max(counts))]


def _connect(columns: int = 0) -> duckdb.DuckDBPyConnection:
    con = engine.connect(memory_limit=engine.wide_memory_limit(columns))
    if columns >= engine.WIDE_COLUMNS:  # one scan thread: a wide file's vectors are the memory
        con.execute("SET threads=1")
    con.execute("SET TimeZone='UTC'")  # TIMESTAMPTZ values arrive as UTC instants
    con.execute("SET enable_progress_bar=false")
    con.execute("SET preserve_insertion_order=true")  # rows stream in file order
    return con


def _settle_types(path: Path, origin: str, options: _Options) -> _Options:
    """Detect the types from the whole file once and pin them for later passes."""
    full = _Options(options.delimiter, options.names, full_detection=True)
    con = _connect(len(options.names))
    try:
        types = [str(t) for t in con.sql(full.query() + " LIMIT 0", params=full.params(path)).types]
    except duckdb.Error as e:
        raise _error(path, origin, full, e) from e
    finally:
        con.close()
    return _Options(options.delimiter, options.names, types=tuple(zip(options.names, types)))


def _stream(path: Path, origin: str, options: _Options, schema: pa.Schema,
            next_source: Callable[[], SourceTable | None]) -> Iterator[pa.RecordBatch]:
    """The file's rows in one pass: every value converted, NUL bytes refused, at least one row."""
    con = _connect(len(options.names))
    rows = 0
    try:
        relation = con.sql(options.query(), params=options.params(path))
        reader = relation.to_arrow_reader(batch_rows(len(options.names)))
        if not plain_schema(reader.schema).equals(schema):
            raise invalid_file(f"{origin}: the file changed after it was opened", path=str(path))
        for batch in reader:
            if _holds_nul(batch):
                _check_no_nul(path, origin)  # error path: name the line, field and byte offset
            rows += batch.num_rows
            yield conform_batch(batch, schema)
    except (duckdb.Error, pa.ArrowException, OSError) as e:
        if _is_conversion(e) and (retry := next_source()) is not None:
            raise SourceRestart(retry) from e
        raise _error(path, origin, options, e) from e
    finally:
        con.close()
    if rows == 0:
        raise invalid_file(f"{origin}: has a header but no data rows", path=str(path), line=2)


def _holds_nul(batch: pa.RecordBatch) -> bool:
    """Whether any text value of a batch holds a NUL character (vectorised, per column)."""
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring(column, "\x00")).as_py():
                return True
    return False


def _utf8_error(path: Path, origin: str) -> InvalidFile:
    found = find_invalid_utf8(path)
    if found is None:
        return invalid_file(f"{origin}: is not valid UTF-8 text", path=str(path))
    offset, line = found
    return invalid_file(
        f"{origin}, line {line}: invalid UTF-8 at byte offset {offset}; save the file as UTF-8",
        path=str(path), line=line, byte_offset=offset)


def _error(path: Path, origin: str, options: _Options, exc: BaseException | None) -> InvalidFile:
    """Turn a DuckDB error into an InvalidFile naming the line (and column) at fault."""
    message = str(exc)
    where = str(path)
    if isinstance(exc, duckdb.OutOfMemoryException):
        raise ResourceLimit(
            f"{origin}: reading its {len(options.names):,} columns ran out of DuckDB memory "
            f"(limit {engine.wide_memory_limit(len(options.names))}); raise DSA_DUCKDB_MEMORY_LIMIT (e.g. 2GB)",
            limit=engine.memory_limit_setting(), setting="DSA_DUCKDB_MEMORY_LIMIT", path=where) from exc
    if "Invalid unicode" in message or "not utf-8 encoded" in message:
        return _utf8_error(path, origin)
    if _is_conversion(exc):
        record = _LINE.search(message)  # DuckDB counts records (and blank lines), not lines
        line = _physical_line(path, options.delimiter, int(record.group(1))) if record else None
        at = f"{origin}, line {line}" if line else origin
        column = _COLUMN.search(message)
        name = column.group(1).replace('""', '"') if column else None
        converting = _CONVERTING.search(message)
        detail = converting.group(1).replace("\n", "\\n") if converting else _detail(message)
        message = f"{at}, column {name!r}: {detail}" if name else f"{at}: {detail}"
        return invalid_file(message, path=where, line=line, column=name)
    ragged = _find_ragged_row(path, origin, options)
    if ragged is not None:
        return ragged
    too_long = _MAX_LINE.search(message)
    if too_long:
        limit = int(too_long.group(1))
        line = _first_long_line(path, limit)
        message = f"{origin}, line {line}: row is longer than the CSV reader's limit of {limit:,} bytes"
        return invalid_file(message, path=where, line=line)
    return invalid_file(f"{origin}: cannot be read as CSV: {_detail(message)}", path=where)


def _is_conversion(exc: BaseException | None) -> bool:
    return isinstance(exc, duckdb.ConversionException) or str(exc).startswith("Conversion Error")


def _detail(message: str) -> str:
    """The informative line of a DuckDB error message."""
    for line in message.splitlines():
        line = re.sub(r"^[A-Za-z ]+ Error: ", "", line.strip())
        if line and not line.startswith(("CSV Error on Line", "Original Line")):
            return line
    return message


def _first_long_line(path: Path, limit: int) -> int | None:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if len(line) > limit:
                return number
    return None


class _CsvSyntaxError(Exception):
    """The ``csv`` module could not parse a record (internal; carries the line)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line


def _records(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the physical line it starts on (blank lines are empty records)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        start = 1
        try:
            for record in reader:
                yield start, record
                start = reader.line_num + 1
        except csv.Error as e:
            problem = "a quoted field is never closed" if "unexpected end of data" in str(e) else str(e)
            raise _CsvSyntaxError(start, problem) from e


def _find_ragged_row(path: Path, origin: str, options: _Options) -> InvalidFile | None:
    """Scan for the first row whose field count differs from the header's (error path only)."""
    expected = len(options.names)
    where = str(path)
    try:
        for line, record in _records(path, options.delimiter):
            if record and len(record) != expected:
                return invalid_file(
                    f"{origin}, line {line}: row has {len(record)} fields but the header has {expected}",
                    path=where, line=line)
    except _CsvSyntaxError as e:
        if "field limit" in str(e):  # a huge field: leave the diagnosis to DuckDB's message
            return None
        return invalid_file(f"{origin}, line {e.line}: {e}", path=where, line=e.line)
    except UnicodeDecodeError:
        return None
    return None


def _physical_line(path: Path, delimiter: str, record_number: int) -> int | None:
    """The line where DuckDB's ``record_number`` (records counted, blank lines too) starts."""
    try:
        for number, (line, _) in enumerate(_records(path, delimiter), start=1):
            if number == record_number:
                return line
    except (_CsvSyntaxError, UnicodeDecodeError):
        return None
    return None
