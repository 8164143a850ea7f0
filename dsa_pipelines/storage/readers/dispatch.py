"""Opening source files: one reader per format, chosen from the bytes and the extension."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from ..errors import InvalidInput
from .delimited import open_delimited
from .excel import open_workbook
from .parquet import open_parquet
from .sniff import detect_format
from .source import SourceTable


def open_sources(
    paths: str | Path | Sequence[str | Path],
    *,
    table: str | None = None,
    sheets: Sequence[str] | None = None,
    stored: Mapping[str, pa.Schema] | None = None,
) -> list[SourceTable]:
    """Open source files as tables: one per CSV/TSV/Parquet file, one per workbook sheet.

    Every file is checked (exists, not empty, content matching its extension) before any
    is read. CSV files are validated completely here (see :mod:`.delimited`); workbook
    sheets are read here; Parquet files are read lazily by ``batches()``.

    Args:
        paths: One path or several.
        table: The table name of a single CSV/Parquet file, or of the one selected
            sheet of a single workbook. Default: the file stem, or the sheet name.
        sheets: The sheets to read from each workbook, in this order (default: all
            worksheets); an error if no workbook is given.
        stored: {table name: schema} of the tables the upload replaces; a CSV keeps
            their column types where its text fits them (see :mod:`.type_hints`).

    Returns:
        The tables, in the order of ``paths`` (and of ``sheets`` within a workbook).

    Raises:
        InvalidFile: A file is missing, empty, of the wrong format, or unreadable; the
            message names the file and, where they apply, line, column and byte offset.
        InvalidInput: No paths, ``table`` with several files or sheets, ``sheets``
            without a workbook, or two tables with the same name.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise InvalidInput("no source files given")
    if table is not None and len(items) > 1:
        raise InvalidInput(f"table= names the table of a single file, but {len(items)} files were given")
    if sheets is not None:
        sheets = list(sheets)
        if not sheets:
            raise InvalidInput("sheets= is empty; give at least one sheet name, or None for all sheets")
        if len(set(sheets)) != len(sheets):
            raise InvalidInput(f"sheets= names a sheet twice: {sheets}")
    files = [(Path(p), detect_format(Path(p))) for p in items]
    if sheets is not None and not any(fmt == "excel" for _, fmt in files):
        raise InvalidInput("sheets= selects sheets of an Excel workbook, but no workbook was given")
    sources: list[SourceTable] = []
    origins: dict[str, str] = {}
    for path, fmt in files:
        origin = str(path)
        if fmt == "excel":
            opened = open_workbook(path, origin=origin, sheets=sheets, table=table)
        elif fmt == "parquet":
            opened = [open_parquet(path, name=table or path.stem, origin=origin)]
        else:
            name = table or path.stem
            opened = [open_delimited(path, fmt=fmt, name=name, origin=origin, stored=(stored or {}).get(name))]
        for source in opened:
            if source.name in origins:
                raise InvalidInput(
                    f"two tables named {source.name!r}: {origins[source.name]} and {source.origin}; "
                    "table names must be unique within an upload", name=source.name)
            origins[source.name] = source.origin
        sources.extend(opened)
    return sources
