"""Exports: a table to CSV or Parquet, a whole commit to Excel (one sheet per table).

CSV and Excel are opened by spreadsheet programs, which execute a cell that starts with
``=``, ``+``, ``-``, ``@``, tab or carriage return as a formula (CSV injection). Exports to
those formats prefix such text cells with ``'``; the stored data and Parquet exports stay
verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import InvalidInput

EXCEL_MAX_ROWS = 1_048_575  # one row for the header
_FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix text cells that a spreadsheet would run as a formula with ``'`` (vectorised)."""
    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.fill_null(pc.match_substring_regex(col, _FORMULA_START), False)
            col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    return pa.table(columns, names=table.column_names)


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
    if compression in (None, "none"):
        sink = pa.OSFile(str(path), "wb")
    else:
        sink = pa.CompressedOutputStream(str(path), compression)
    with sink, pacsv.CSVWriter(sink, schema) as writer:
        for batch in batches:
            writer.write_table(neutralise_formulas(batch).cast(schema))
            rows += batch.num_rows
    return rows


def write_parquet(batches: Iterable[pa.Table], schema: pa.Schema, path: Path, compression: str | None = None) -> int:
    """Stream tables into one Parquet file (zstd unless another codec is named); returns rows written."""
    rows = 0
    with pq.ParquetWriter(path, schema, compression=compression or "zstd") as writer:
        for batch in batches:
            writer.write_table(batch)
            rows += batch.num_rows
    return rows


def _excel_frame(table: pa.Table):  # noqa: ANN202
    frame = neutralise_formulas(table).to_pandas()
    for name in frame.columns:  # Excel has no time zones: write UTC wall-clock time
        if hasattr(frame[name].dtype, "tz") and frame[name].dtype.tz is not None:
            frame[name] = frame[name].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def write_excel(tables: Iterator[tuple[str, pa.Table]], path: Path) -> dict[str, int]:
    """Write one sheet per table (sheet names cut to Excel's 31 characters)."""
    import pandas as pd  # noqa: PLC0415 — only Excel export needs pandas

    written: dict[str, int] = {}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables:
            if table.num_rows > EXCEL_MAX_ROWS:
                raise InvalidInput(
                    f"table {name!r} has {table.num_rows} rows; an Excel sheet holds at most {EXCEL_MAX_ROWS}. "
                    "Export it as CSV or Parquet instead", table=name,
                )
            sheet = name[:31]
            _excel_frame(table).to_excel(writer, sheet_name=sheet, index=False)
            written[sheet] = table.num_rows
        if not written:
            pd.DataFrame().to_excel(writer, sheet_name="empty", index=False)
    return written
