"""Exports: a table to CSV or Parquet, a whole commit to Excel (one sheet per table).

CSV and Excel are opened by spreadsheet programs, which execute a cell that starts with
``=``, ``+``, ``-``, ``@``, tab or carriage return as a formula (CSV injection). Exports to
those formats prefix such text cells — and such column names — with ``'``; the stored data
and Parquet exports stay verbatim.

Exports are written so that uploading them again reproduces the table (``no_changes``):

- CSV: floats in their shortest round-trip form with a decimal point (``517.0``, not
  ``517``, so the column comes back as float; ``nan``, ``inf``, ``-inf``), binary as
  DuckDB's escaped text, everything else as Arrow's CSV writer writes it (strings quoted,
  NULL as an empty unquoted field, ISO dates and times).
- Excel: numbers with all 17 significant digits (openpyxl's default keeps 16), integers
  exact. A workbook cannot hold NaN, infinity, control characters or a carriage return
  (XML reads it back as a line feed): exporting them is an error naming table, column
  (and row). It cannot tell an empty text from an empty cell (both come back as NULL),
  and keeps times to the millisecond. Sheet names follow :func:`sheet_names`.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import engine
from .errors import InvalidInput

EXCEL_MAX_ROWS = 1_048_575  # one row for the header
EXCEL_SHEET_NAME = 31
_FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA = re.compile(_FORMULA_START)
_SHEET_FORBIDDEN = re.compile(r"[:\\/?*\[\]\x00-\x1f]")
_XML_ILLEGAL = r"[\x00-\x08\x0b-\x1f]"  # what a workbook's XML cannot hold (a CR would be read back as LF)


def neutralise_text(text: str) -> str:
    """``text`` prefixed with ``'`` if a spreadsheet would run it as a formula (a column name, say)."""
    return "'" + text if _FORMULA.match(text) else text


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix text cells and column names that a spreadsheet would run as a formula with ``'`` (vectorised)."""
    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.fill_null(pc.match_substring_regex(col, _FORMULA_START), False)
            col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    return pa.table(columns, names=[neutralise_text(n) for n in table.column_names])


def sheet_names(tables: list[str]) -> dict[str, str]:
    """The sheet each table is written to: valid in Excel and unique (ignoring case).

    The rule: ``: \\ / ? * [ ]`` and control characters become ``_``; leading and trailing
    apostrophes are dropped; an empty result, or ``History`` (reserved by Excel), becomes
    ``Sheet``; the name is cut to 31 characters; a name already taken (ignoring case) gets
    ``~2``, ``~3``… in its last characters. Tables are taken in the order given.

    Returns:
        {table name: sheet name}.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for table in tables:
        base = _SHEET_FORBIDDEN.sub("_", table).strip("'")
        if not base or base.casefold() == "history":
            base = "Sheet"
        name, n = base[:EXCEL_SHEET_NAME], 1
        while name.casefold() in taken:
            n += 1
            suffix = f"~{n}"
            name = base[: EXCEL_SHEET_NAME - len(suffix)] + suffix
        taken.add(name.casefold())
        out[table] = name
    return out


COMPRESSED_SUFFIXES = {".gz": "gzip", ".zst": "zstd"}


def compression_for(path: Path, compression: str | None) -> str | None:
    """The compression asked for, else the one a ``.csv.gz`` / ``.csv.zst`` name implies."""
    if compression is None and path.suffix.lower() in COMPRESSED_SUFFIXES:
        return COMPRESSED_SUFFIXES[path.suffix.lower()]
    return compression


def format_for(path: Path, fmt: str | None) -> str:
    """The export format: explicit, or from the file suffix (``.csv.gz`` and ``.csv.zst`` are CSV)."""
    suffix = path.suffix
    if suffix.lower() in COMPRESSED_SUFFIXES and path.stem.lower().endswith(".csv"):
        suffix = ".csv"
    fmt = (fmt or suffix.lstrip(".")).lower()
    aliases = {"csv": "csv", "parquet": "parquet", "pq": "parquet", "xlsx": "xlsx", "excel": "xlsx"}
    if fmt not in aliases:
        raise InvalidInput(f"cannot export to {path.name!r}: format {fmt!r} is not csv, parquet or xlsx",
                           path=str(path))
    return aliases[fmt]


def _csv_text(table: pa.Table) -> pa.Table:
    """Floats and binaries as DuckDB's text for them (``517.0``, ``nan``; ``\\x00ab``); other columns as they are."""
    wanted = [i for i, f in enumerate(table.schema) if pa.types.is_floating(f.type) or pa.types.is_binary(f.type)
              or pa.types.is_large_binary(f.type) or pa.types.is_fixed_size_binary(f.type)]
    if not wanted or table.num_rows == 0:
        return table
    inputs = pa.table({f"c{j}": table.column(i) for j, i in enumerate(wanted)})
    con = engine.connect()
    try:
        con.register("__dsa_export", inputs)
        texts = con.sql("SELECT " + ", ".join(f"CAST(c{j} AS VARCHAR)" for j in range(len(wanted)))
                        + " FROM __dsa_export").to_arrow_table()
    finally:
        con.close()
    for j, i in enumerate(wanted):
        table = table.set_column(i, pa.field(table.schema.field(i).name, pa.string()), texts.column(j))
    return table


CSV_COMPRESSION = ("none", "gzip", "zstd")
PARQUET_COMPRESSION = ("zstd", "snappy", "gzip", "lz4", "brotli", "none")


def check_compression(fmt: str, compression: str | None) -> str | None:
    """The compression to use for a format (None: the format's default).

    Raises:
        InvalidInput: a codec the format does not offer (Excel offers none: it is zipped already).
    """
    if compression is None:
        return None
    allowed = {"csv": CSV_COMPRESSION, "parquet": PARQUET_COMPRESSION}.get(fmt, ())
    if compression not in allowed:
        offered = ", ".join(allowed) if allowed else "none (an .xlsx file is compressed already)"
        raise InvalidInput(f"cannot compress a {fmt} export with {compression!r}; choose from: {offered}",
                           compression=compression)
    return compression


def write_csv(batches: Iterable[pa.Table], schema: pa.Schema, path: Path, compression: str | None = None) -> int:
    """Stream tables into one CSV file with a header (optionally gzip/zstd-compressed); returns rows written."""
    rows = 0
    writer: pacsv.CSVWriter | None = None
    if compression in (None, "none"):
        sink = pa.OSFile(str(path), "wb")
    else:
        sink = pa.CompressedOutputStream(str(path), compression)
    try:
        for batch in batches:
            ready = _csv_text(neutralise_formulas(batch.cast(schema)))  # numbers' text is never a formula
            if writer is None:
                writer = pacsv.CSVWriter(sink, ready.schema)
            writer.write_table(ready)
            rows += batch.num_rows
        if writer is None:  # no rows: just the header
            writer = pacsv.CSVWriter(sink, _csv_text(neutralise_formulas(schema.empty_table())).schema)
    finally:
        if writer is not None:
            writer.close()
        sink.close()
    return rows


def write_parquet(batches: Iterable[pa.Table], schema: pa.Schema, path: Path, compression: str | None = None) -> int:
    """Stream tables into one Parquet file (zstd unless another codec is named); returns rows written."""
    rows = 0
    with pq.ParquetWriter(path, schema, compression=compression or "zstd") as writer:
        for batch in batches:
            writer.write_table(batch)
            rows += batch.num_rows
    return rows


_PATCH_LOCK = threading.Lock()


@contextmanager
def _exact_numbers() -> Iterator[None]:
    """While writing, openpyxl formats numbers exactly (``repr`` of a float, all digits of an int)
    instead of ``%.16g``, which drops the 17th significant digit and rounds big integers."""
    from openpyxl.cell import _writer  # noqa: PLC0415 — openpyxl loads only for Excel; its number formatting is fixed here

    original = _writer.safe_string

    def exact(value: object) -> str:
        if isinstance(value, bool):
            return original(value)
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        return original(value)

    with _PATCH_LOCK:
        _writer.safe_string = exact
        try:
            yield
        finally:
            _writer.safe_string = original


def _excel_values(name: str, table: pa.Table) -> list[list[object]]:
    """The table's columns as Python values a workbook can hold (UTC wall-clock time for time zones)."""
    columns = []
    for field, col in zip(table.schema, table.columns):
        if pa.types.is_floating(field.type) and table.num_rows:
            bad = pc.sum(pc.cast(pc.invert(pc.is_finite(col)), pa.int64())).as_py() or 0
            if bad:
                raise InvalidInput(
                    f"table {name!r}, column {field.name!r}: {bad} NaN or infinite value(s), which a workbook "
                    "cannot hold; export it as CSV or Parquet instead", table=name, column=field.name)
        if pa.types.is_string(field.type) and table.num_rows:
            illegal = pc.fill_null(pc.match_substring_regex(col, _XML_ILLEGAL), False)
            if pc.any(illegal).as_py():
                row = pc.index(illegal, True).as_py()
                raise InvalidInput(
                    f"table {name!r}, column {field.name!r}, row {row}: a control character (or carriage return) "
                    "that a workbook cannot hold; export it as CSV or Parquet instead",
                    table=name, column=field.name, row=row)
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            col = col.cast(pa.timestamp(field.type.unit))  # the UTC instant, without its zone
        values = col.to_pylist()
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            values = [None if v is None else v.hex() for v in values]
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns":
            values = [v.to_pydatetime() if hasattr(v, "to_pydatetime") else v for v in values]
        columns.append(values)
    return columns


def write_excel(tables: Iterator[tuple[str, pa.Table]], path: Path) -> dict[str, int]:
    """Write one sheet per table (named by :func:`sheet_names`), headers and cells neutralised.

    Returns:
        {sheet name: rows written}.
    """
    import openpyxl  # noqa: PLC0415 — only Excel export needs openpyxl

    tables = list(tables)
    names = sheet_names([name for name, _ in tables])
    prepared = []  # everything checked before the first sheet is opened, so a refusal leaves nothing half-written
    for name, table in tables:
        if table.num_rows > EXCEL_MAX_ROWS:
            raise InvalidInput(
                f"table {name!r} has {table.num_rows} rows; an Excel sheet holds at most {EXCEL_MAX_ROWS}. "
                "Export it as CSV or Parquet instead", table=name,
            )
        safe = neutralise_formulas(table)
        prepared.append((names[name], safe.column_names, _excel_values(name, safe), table.num_rows))
    wb = openpyxl.Workbook(write_only=True)
    written: dict[str, int] = {}
    with _exact_numbers():  # write-only sheets serialise cells as they are appended
        for sheet, header, columns, rows in prepared:
            ws = wb.create_sheet(sheet)
            ws.append(header)
            for row in zip(*columns):
                ws.append(row)
            written[sheet] = rows
        if not written:
            wb.create_sheet("empty")
        wb.save(path)
    return written

