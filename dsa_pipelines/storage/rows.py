"""Reading rows back: from a manifest's ranges to an Arrow table in upload order.

(Files → Arrow is ``readers/``; stored rows → Arrow is this module.)

Each referenced pack is opened once and only the row groups that hold wanted rows are
read; the rows are then put in logical order with one vectorised ``take``. A manifest
that is a single whole pack (a first upload) is returned as read, with no take at all.

Every pack is checked against its id before it is decoded (once per process, see
:meth:`.ObjectStore.verified_path`) and read with Parquet page checksum verification;
any failure is a :class:`~.errors.CorruptObject` naming dataset, commit, table and pack.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CorruptObject
from .hashing import KEY_COLUMNS, KEY_TYPES
from .integrity import ReadContext, in_context, reading
from .manifest import Manifest, expand_ranges
from .objects import ObjectStore


class ManifestCache:
    """Manifests by object id, parsed once per process (they are immutable).

    Args:
        objects: Where the manifests live.
    """

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._cache: dict[str, Manifest] = {}

    def get(self, manifest_id: str, context: ReadContext | None = None) -> Manifest:
        """The manifest, read, checked against its id and parsed on first use.

        Args:
            context: The dataset, commit and table being read (named in errors).

        Raises:
            CorruptObject: it is missing, damaged or cannot be parsed.
        """
        if manifest_id not in self._cache:
            try:
                data = self.objects.read_bytes("manifests", manifest_id)
                self._cache[manifest_id] = Manifest.from_bytes(data, manifest_id)
            except CorruptObject as e:
                raise in_context(e, context) from e.__cause__
        return self._cache[manifest_id]

    def clear(self) -> None:
        """Forget every parsed manifest (the next read of each checks it again)."""
        self._cache.clear()


def _conform(table: pa.Table, schema: pa.Schema, names: list[str]) -> pa.Table:
    """Select ``names`` in order and cast to the commit's schema (a pack written by an
    upload with other physical types — int32 vs int64 — holds the same logical values)."""
    table = table.select(names)
    target = pa.schema([schema.field(n) if n in schema.names else table.schema.field(n) for n in names])
    return table if table.schema.equals(target) else table.cast(target)


def open_pack(objects: ObjectStore, pack_id: str) -> pq.ParquetFile:
    """Open a row pack for reading: its bytes checked against its id, page checksums verified.

    Raises:
        CorruptObject: missing or damaged (without reader context; wrap in :func:`.integrity.reading`).
    """
    path = objects.verified_path("packs", pack_id)
    with reading(objects, "packs", pack_id, None):
        return pq.ParquetFile(path, page_checksum_verification=True)


def read_pack_keys(objects: ObjectStore, pack_id: str, context: ReadContext | None = None) -> pa.Table:
    """The row-key columns of a whole pack, in pack order (the dedup index's input).

    Raises:
        CorruptObject: the pack is missing or damaged.
    """
    with reading(objects, "packs", pack_id, context):
        return open_pack(objects, pack_id).read(columns=list(KEY_COLUMNS))


def _read_pack_ranges(pf: pq.ParquetFile, starts: np.ndarray, counts: np.ndarray,
                      columns: list[str]) -> tuple[pa.Table, np.ndarray]:
    """Read the row groups of one pack that the ranges touch.

    Works on ranges, never on rows: a range maps to consecutive rows of the table read,
    because every row group it crosses is read.

    Returns:
        The rows read, and for each range the index of its first row in that table.
    """
    meta = pf.metadata
    n_groups = meta.num_row_groups
    sizes = np.array([meta.row_group(i).num_rows for i in range(n_groups)], dtype=np.int64)
    ends = np.cumsum(sizes)
    firsts = ends - sizes
    g_first = np.searchsorted(ends, starts, side="right")
    g_last = np.searchsorted(ends, starts + counts - 1, side="right")
    marks = np.zeros(n_groups + 1, dtype=np.int64)
    np.add.at(marks, g_first, 1)
    np.add.at(marks, g_last + 1, -1)
    wanted = np.flatnonzero(np.cumsum(marks[:-1]) > 0)
    # a flipped byte (checksum, decompression or decoding error) becomes a CorruptObject in the caller's `reading`
    if len(wanted) == n_groups:
        return pf.read(columns=columns), starts
    table = pf.read_row_groups(wanted.tolist(), columns=columns)
    read_offset = np.zeros(n_groups, dtype=np.int64)
    read_offset[wanted] = np.cumsum(sizes[wanted]) - sizes[wanted]
    return table, starts - firsts[g_first] + read_offset[g_first]


def read_manifest(
    objects: ObjectStore,
    manifest: Manifest,
    schema: pa.Schema,
    columns: list[str] | None = None,
    with_keys: bool = False,
    context: ReadContext | None = None,
) -> pa.Table:
    """Materialise a manifest's rows in order.

    Args:
        objects: Where the packs live.
        manifest: The rows to read (already windowed, if paging).
        schema: The commit table's Arrow schema (data columns).
        columns: Data columns to return (default: all, in schema order).
        with_keys: Also return the two row-key columns.
        context: The dataset, commit and table being read (named in errors).

    Returns:
        An Arrow table, one row per manifest row, in manifest order.

    Raises:
        CorruptObject: a pack is missing or damaged (naming dataset, commit, table and pack).
    """
    names = list(columns) if columns is not None else list(schema.names)
    if with_keys:
        names += list(KEY_COLUMNS)
    out_schema = pa.schema([schema.field(n) for n in names if n in schema.names]
                           + [pa.field(k, t) for k, t in zip(KEY_COLUMNS, KEY_TYPES) if with_keys])
    if manifest.row_count == 0:
        return out_schema.empty_table()
    parts: list[pa.Table] = []
    first_row = np.empty(len(manifest.count), dtype=np.int64)  # per range: its first row in `combined`
    base = 0
    for p in np.unique(manifest.pack):
        sel = np.flatnonzero(manifest.pack == p)
        pack_id = manifest.packs[p]
        with reading(objects, "packs", pack_id, context):
            pf = open_pack(objects, pack_id)
            if int(manifest.start[sel].min()) < 0 or int((manifest.start[sel] + manifest.count[sel]).max()) > \
                    pf.metadata.num_rows:
                raise objects.corrupt("packs", pack_id, f"has {pf.metadata.num_rows} rows, fewer than the "
                                      "manifest refers to")
            table, local = _read_pack_ranges(pf, manifest.start[sel], manifest.count[sel], names)
            parts.append(_conform(table, out_schema, names))
        first_row[sel] = base + local
        base += table.num_rows
    combined = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    if len(first_row) == 1 and first_row[0] == 0 and manifest.count[0] == combined.num_rows:
        return combined  # one whole pack in order (a first upload): nothing to rearrange
    return _take(combined, pa.array(expand_ranges(first_row, manifest.count)))


def _take(table: pa.Table, index: pa.Array) -> pa.Table:
    """``table.take(index)``, one column per thread (Arrow's take is single-threaded)."""
    if table.num_columns < 2:
        return table.take(index)
    columns = list(_POOL.map(lambda col: col.take(index), table.columns))
    return pa.Table.from_arrays(columns, schema=table.schema)


_POOL = ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2)), thread_name_prefix="dsa-take")
