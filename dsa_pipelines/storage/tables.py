"""The tables of a commit: picking one, paging its rows, streaming and exporting it."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from . import export as exporting
from .errors import InvalidInput, TableNotFound
from .integrity import ReadContext
from .models import Commit, TableInfo, TablePage
from .objects import ObjectStore
from .rows import ManifestCache, read_manifest

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


def export(objects: ObjectStore, manifests: ManifestCache, commit: Commit, path: str | os.PathLike,
           table: str | None, fmt: str | None) -> Path:
    """Write a table to CSV/Parquet, or tables to Excel (one sheet each), atomically.

    Returns:
        The written path.
    """
    path = Path(path)
    fmt = exporting.format_for(path, fmt)
    if fmt == "xlsx":
        infos = [pick_table(commit, table)] if table else list(commit.tables.values())
    else:
        infos = [pick_table(commit, table)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "xlsx":
            sheets = ((i.name, read_page(objects, manifests, i, 0, None, None, False,
                                         ReadContext(commit.dataset, commit.id, i.name)).table) for i in infos)
            exporting.write_excel(sheets, tmp)
        else:
            writer = exporting.write_csv if fmt == "csv" else exporting.write_parquet
            context = ReadContext(commit.dataset, commit.id, infos[0].name)
            writer(iter_batches(objects, manifests, infos[0], context=context), infos[0].schema, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
