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


def format_for(path: Path, fmt: str | None) -> str:
    """The export format: explicit, or from the file suffix."""
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    aliases = {"csv": "csv", "parquet": "parquet", "pq": "parquet", "xlsx": "xlsx", "excel": "xlsx"}
    if fmt not in aliases:
        raise InvalidInput(f"cannot export to {path.name!r}: format {fmt!r} is not csv, parquet or xlsx",
                           path=str(path))
    return aliases[fmt]


def write_csv(batches: Iterable[pa.Table], schema: pa.Schema, path: Path) -> int:
    """Stream tables into one CSV file with a header; returns rows written."""
    rows = 0
    with pacsv.CSVWriter(path, schema) as writer:
        for batch in batches:
            writer.write_table(neutralise_formulas(batch).cast(schema))
            rows += batch.num_rows
    return rows


def write_parquet(batches: Iterable[pa.Table], schema: pa.Schema, path: Path) -> int:
    """Stream tables into one zstd Parquet file; returns rows written."""
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
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
