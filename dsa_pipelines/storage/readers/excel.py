"""Excel workbooks (.xlsx/.xlsm): one table per worksheet, read with openpyxl.

Row 1 holds the column names; every later row with a value is a data row (rows with no
value at all are skipped, so trailing blank rows vanish, and cost nothing: see
:mod:`.sheet_rows`, which also bounds how far the archive may inflate). A column with
neither a name nor any value is ignored; a column with values but no name is an error.
A merged range's value belongs to its top-left cell; its other cells are empty.

Excel stores numbers, text, booleans and date-times, so a column's type is decided
from all its values:

========================================  ====================
values (ignoring empty cells)             Arrow type
========================================  ====================
numbers, every one integral               int64
numbers                                   float64
date-times, every one at midnight         date32
date-times                                timestamp[us]
times of day / durations                  time64[us] / duration[us]
booleans                                  bool
text                                      string
a mix of the above, or no value at all    string (values as text)
========================================  ====================

Formulas give their cached value; a formula without one (the file was never calculated)
and Excel's non-existent 1900-02-29 (serial 60) are refused, naming the cells. A sheet is
read once, when it is opened, into Arrow arrays of :data:`BATCH_ROWS` rows (openpyxl
parses a cell at a time, so a second pass would double the cost; a sheet has at most
1,048,576 rows).
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import openpyxl
import pyarrow as pa
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from ..errors import InvalidInput
from .sheet_rows import check_archive, sheet_rows
from .source import (
    BATCH_ROWS,
    SourceTable,
    batch_rows,
    check_column_names,
    invalid_file,
)

_GROUP = {bool: "bool", int: "number", float: "number", str: "str", dt.datetime: "datetime",
          dt.date: "datetime", dt.time: "time", dt.timedelta: "duration"}
_INT64 = 2**63
# What a corrupt or truncated workbook raises from openpyxl, zipfile and the XML parser
# (lxml's and ElementTree's parse errors are SyntaxErrors).
_CORRUPT = (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, EOFError, zlib.error, SyntaxError)


def open_workbook(path: Path, *, origin: str, sheets: Sequence[str] | None, table: str | None) -> list[SourceTable]:
    """Open the selected worksheets of a workbook, one :class:`SourceTable` each.

    Args:
        path: The workbook (already checked to be a ZIP file).
        origin: The file as named in messages.
        sheets: The sheets to read, in this order; None for every worksheet.
        table: The table name, allowed only when one sheet is selected.

    Returns:
        One source table per selected sheet, named after the sheet (or ``table``).

    Raises:
        InvalidFile: A corrupt workbook, an unknown sheet (the message lists the
            available ones), an empty or header-only sheet, or bad column names.
        InvalidInput: ``table`` given while several sheets are selected.
    """
    where = str(path)
    corrupt = f"{origin}: is not a readable .xlsx workbook (corrupt or truncated)"
    check_archive(path, origin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl warns about unsupported extensions
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (*_CORRUPT, ValueError) as e:
            raise invalid_file(f"{corrupt}: {e}", path=where) from e
        try:
            selected = _select(wb, origin=origin, path=where, sheets=sheets, table=table)
            return [_read_sheet(wb[s], name=table or s, origin=f"{origin}, sheet {s!r}", path=where)
                    for s in selected]
        except _CORRUPT as e:
            raise invalid_file(f"{corrupt}: {e}", path=where) from e
        finally:
            wb.close()


def _select(wb, *, origin: str, path: str, sheets: Sequence[str] | None, table: str | None) -> list[str]:
    """The names of the sheets to read, checked against the workbook's worksheets."""
    available = [ws.title for ws in wb.worksheets]
    selected = available if sheets is None else list(sheets)
    missing = [s for s in selected if s not in available]
    if missing:
        listed = ", ".join(repr(s) for s in available)
        raise invalid_file(f"{origin}: no sheet named {missing[0]!r}; the sheets are: {listed}",
                           path=path, sheet=missing[0], available=available)
    if table is not None and len(selected) != 1:
        raise InvalidInput(f"{origin}: table= names a single table, but {len(selected)} sheets are selected; "
                           "select one sheet with sheets=[...]")
    return selected


class _Column:
    """Accumulates one column's values chunk by chunk and decides its type at the end."""

    def __init__(self, leading_nulls: int) -> None:
        self.chunks: list[pa.Array] = [pa.nulls(leading_nulls)] if leading_nulls else []
        self.groups: set[str] = set()
        self.integral = True
        self.midnight = True

    def add(self, values: list[object]) -> None:
        groups = {_GROUP.get(type(v), "other") for v in values if v is not None}
        self.groups |= groups
        if "number" in groups:
            self.integral = self.integral and all(
                isinstance(v, bool) or not isinstance(v, (int, float)) or _is_int64(v) for v in values)
        if "datetime" in groups:
            self.midnight = self.midnight and all(
                not isinstance(v, dt.datetime) or v.time() == dt.time() for v in values)
        self.chunks.append(_chunk_array(values, groups))

    def finish(self) -> pa.ChunkedArray:
        target = _final_type(self.groups, self.integral, self.midnight)
        out = []
        for chunk in self.chunks:
            if chunk.type == target:
                out.append(chunk)
            elif pa.types.is_string(target) and not pa.types.is_null(chunk.type):
                out.append(pa.array([_text(v) for v in chunk.to_pylist()], pa.string()))
            else:
                out.append(chunk.cast(target, safe=False))
        return pa.chunked_array(out, type=target)


def _is_int64(v: int | float) -> bool:
    return -_INT64 <= v < _INT64 and (isinstance(v, int) or v.is_integer())


def _chunk_array(values: list[object], groups: set[str]) -> pa.Array:
    """The values of one chunk as the narrowest array holding them exactly."""
    if not groups:
        return pa.nulls(len(values))
    if len(groups) > 1 or "other" in groups:
        return pa.array([None if v is None else _text(v) for v in values], pa.string())
    group = next(iter(groups))
    if group == "number":
        if all(v is None or (isinstance(v, int) and -_INT64 <= v < _INT64) for v in values):
            return pa.array(values, pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if group == "datetime":
        values = [v if not isinstance(v, dt.date) or isinstance(v, dt.datetime)
                  else dt.datetime.combine(v, dt.time()) for v in values]
        return pa.array(values, pa.timestamp("us"))
    return pa.array(values, {"bool": pa.bool_(), "str": pa.string(), "time": pa.time64("us"),
                             "duration": pa.duration("us")}[group])


def _final_type(groups: set[str], integral: bool, midnight: bool) -> pa.DataType:
    if len(groups) != 1 or "other" in groups:
        return pa.string()
    group = next(iter(groups))
    if group == "number":
        return pa.int64() if integral else pa.float64()
    if group == "datetime":
        return pa.date32() if midnight else pa.timestamp("us")
    return {"bool": pa.bool_(), "str": pa.string(), "time": pa.time64("us"), "duration": pa.duration("us")}[group]


def _text(value: object) -> str:
    """A cell value as text (column names, and values of mixed-type columns)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _trimmed(row: tuple[object, ...]) -> tuple[object, ...]:
    """``row`` without its trailing empty cells (empty strings count as empty)."""
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return row[:end]


def _read_sheet(ws, *, name: str, origin: str, path: str) -> SourceTable:
    rows = sheet_rows(ws, origin=origin, path=path)
    first = next(rows, None)
    header_row = first[1] if first is not None and first[0] == 1 else ()
    pending = [first] if first is not None and first[0] != 1 else []
    header = _trimmed(header_row)
    names = ["" if v is None else _text(v).strip() for v in header]
    named = [i for i, n in enumerate(names) if n]
    check_column_names([names[i] for i in named], origin=origin, path=path, label=_letters(named))
    columns: list[_Column] = []
    total = 0
    chunk: list[tuple[object, ...]] = []
    for _, values in itertools.chain(pending, rows):
        row = _trimmed(values)
        if row:
            chunk.append(row)
        if len(chunk) == BATCH_ROWS:
            total = _add_chunk(columns, chunk, total)
            chunk = []
    if chunk:
        total = _add_chunk(columns, chunk, total)
    if not header and not total:
        raise invalid_file(f"{origin}: sheet is empty", path=path)
    if not header:
        raise invalid_file(f"{origin}: row 1 must hold the column names but it is empty", path=path, line=1)
    if not total:
        raise invalid_file(f"{origin}: sheet has a header but no data rows", path=path, line=2)
    names += [""] * (len(columns) - len(names))
    columns += [_Column(total) for _ in range(len(names) - len(columns))]
    kept = [i for i, (n, c) in enumerate(zip(names, columns)) if n or c.groups]
    check_column_names([names[i] for i in kept], origin=origin, path=path, label=_letters(kept))
    arrays = [columns[i].finish() for i in kept]
    table = pa.Table.from_arrays(arrays, names=[names[i] for i in kept])

    def batches() -> Iterator[pa.RecordBatch]:
        return iter(table.to_batches(max_chunksize=batch_rows(table.num_columns)))

    return SourceTable(name=name, origin=origin, schema=table.schema, batches=batches, row_count_hint=total)


def _letters(indices: list[int]) -> Callable[[int], str]:
    """Labels positions in a list of kept columns by their Excel column letters."""
    return lambda position: f"column {get_column_letter(indices[position - 1] + 1)}"


def _add_chunk(columns: list[_Column], chunk: list[tuple[object, ...]], total: int) -> int:
    """Transpose ``chunk`` into ``columns`` (adding columns that first appear here)."""
    width = max(len(r) for r in chunk)
    columns += [_Column(total) for _ in range(width - len(columns))]
    for i, column in enumerate(columns):
        column.add([r[i] if i < len(r) else None for r in chunk])
    return total + len(chunk)
