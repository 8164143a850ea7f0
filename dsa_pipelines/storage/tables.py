"""The tables of a commit: picking one, paging its rows, streaming and exporting it."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from . import export as exporting
from .errors import InvalidInput, TableNotFound
from .integrity import ReadContext
from .models import Commit, TableInfo, TablePage
from .objects import ObjectStore
from .rows import ManifestCache, read_manifest

if TYPE_CHECKING:
    from .row_filter import RowFilter

EXPORT_BATCH_ROWS = 256 * 1024


def pick_table(commit: Commit, table: str | None) -> TableInfo:
    """One table of a commit (``table`` may be omitted when there is exactly one).

    Raises:
        TableNotFound: no such table, or several and none named.
    """
    if table is None:
        if len(commit.tables) == 1:
            return next(iter(commit.tables.values()))
        raise TableNotFound(
            f"commit {commit.short_id} of {commit.dataset!r} has tables {sorted(commit.tables) or 'none'}; name one",
            kind="table", name=None)
    if table not in commit.tables:
        raise TableNotFound(
            f"commit {commit.short_id} of {commit.dataset!r} has no table {table!r} "
            f"(tables: {', '.join(sorted(commit.tables)) or 'none'})", kind="table", name=table)
    return commit.tables[table]


def check_columns(info: TableInfo, columns: Sequence[str] | None) -> list[str] | None:
    """The requested columns, all of which must exist.

    Raises:
        InvalidInput: a column is not in the table.
    """
    if columns is None:
        return None
    columns = [c if c in info.schema.names else unicodedata.normalize("NFC", c) for c in columns]
    missing = [c for c in columns if c not in info.schema.names]
    if missing:
        raise InvalidInput(f"table {info.name!r} has no column(s) {missing}; it has {info.schema.names}",
                           column=missing[0])
    return list(columns)


def read_page(objects: ObjectStore, manifests: ManifestCache, info: TableInfo, offset: int, limit: int | None,
              columns: Sequence[str] | None, with_keys: bool, context: ReadContext | None = None) -> TablePage:
    """Rows ``offset .. offset+limit-1`` of a table in upload order.

    Raises:
        CorruptObject: a manifest or pack is missing or damaged (naming ``context``), never wrong rows.
    """
    if offset < 0 or (limit is not None and limit < 0):
        raise InvalidInput(f"offset and limit must not be negative (got {offset}, {limit})")
    names = check_columns(info, columns)
    manifest = manifests.get(info.manifest_id, context).window(offset, limit)
    rows = read_manifest(objects, manifest, info.schema, names, with_keys, context=context)
    return TablePage(rows, offset, info.row_count)


def read_rows(objects: ObjectStore, manifests: ManifestCache, info: TableInfo, row_ids: np.ndarray,
              columns: Sequence[str] | None = None, context: ReadContext | None = None) -> pa.Table:
    """Some rows of a table, by logical row id, in the order given.

    Raises:
        InvalidInput: a row id is outside the table, or a column is unknown.
    """
    names = check_columns(info, columns)
    manifest = manifests.get(info.manifest_id, context).select(np.asarray(row_ids, dtype=np.int64))
    return read_manifest(objects, manifest, info.schema, names, context=context)


def iter_batches(objects: ObjectStore, manifests: ManifestCache, info: TableInfo,
                 batch_rows: int = EXPORT_BATCH_ROWS, context: ReadContext | None = None) -> Iterator[pa.Table]:
    """A table's rows as a stream of Arrow tables (bounded memory)."""
    manifest = manifests.get(info.manifest_id, context)
    for start in range(0, max(manifest.row_count, 1), batch_rows):
        yield read_manifest(objects, manifest.window(start, batch_rows), info.schema, context=context)


def _shaped(objects: ObjectStore, manifests: ManifestCache, info: TableInfo, columns: list[str] | None,
            row_filter: RowFilter | None, context: ReadContext) -> Iterator[pa.Table]:
    batches = iter_batches(objects, manifests, info, context=context)
    if row_filter is not None:
        from .row_filter import filter_batches  # noqa: PLC0415 — DuckDB loads only for a filtered export

        batches = filter_batches(batches, row_filter)
    for batch in batches:
        yield batch.select(columns) if columns is not None else batch


def export(objects: ObjectStore, manifests: ManifestCache, commit: Commit, path: str | os.PathLike,
           table: str | None, fmt: str | None, columns: Sequence[str] | None = None,
           where: str | None = None, compression: str | None = None) -> Path:
    """Write a table to CSV/Parquet, or tables to Excel (one sheet each), atomically.

    Args:
        columns: Only these columns, in this order (each exported table must have them).
        where: Only the rows for which this SQL expression over the table's columns is true
            (checked first: see :mod:`.row_filter`).
        compression: CSV ``gzip`` / ``zstd`` (default none), Parquet codec (default ``zstd``).

    Returns:
        The written path.

    Raises:
        InvalidInput: an unknown column, a filter that is not a plain expression over the table,
            or a compression the format does not offer.
    """
    path = Path(path)
    fmt = exporting.format_for(path, fmt)
    compression = exporting.check_compression(fmt, exporting.compression_for(path, compression))
    if fmt == "xlsx":
        infos = [pick_table(commit, table)] if table else list(commit.tables.values())
    else:
        infos = [pick_table(commit, table)]
    if columns is not None and not columns:
        raise InvalidInput("columns must name at least one column (or be left out for all)")
    if where is not None:
        from .row_filter import parse_filter  # noqa: PLC0415 — DuckDB loads only for a filtered export
    # Every check before anything is written: a bad column or filter leaves no file.
    plans = [(i, check_columns(i, columns), parse_filter(where, i.schema) if where is not None else None)
             for i in infos]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "xlsx":
            sheets = ((i.name, pa.concat_tables(list(_shaped(objects, manifests, i, names, f,
                                                             ReadContext(commit.dataset, commit.id, i.name)))))
                      for i, names, f in plans)
            exporting.write_excel(sheets, tmp)
        else:
            info, names, row_filter = plans[0]
            schema = pa.schema([info.schema.field(n) for n in names]) if names is not None else info.schema
            writer = exporting.write_csv if fmt == "csv" else exporting.write_parquet
            context = ReadContext(commit.dataset, commit.id, info.name)
            writer(_shaped(objects, manifests, info, names, row_filter, context), schema, tmp, compression)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
