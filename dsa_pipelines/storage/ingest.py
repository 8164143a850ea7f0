"""Turning a stream of record batches into a stored table: dedup, row pack, manifest.

For each record batch (bounded size, so memory stays flat as files grow):
1. canonicalise and hash every row (DuckDB, vectorised) → 96-bit row keys;
2. look the keys up in the persistent key index of the logical schema (rows of another
   schema cannot share a hash; :mod:`.key_index`: sorted runs, so the cost follows the
   batch, not the store) and in the keys this upload has stored so far;
3. append rows not stored before — once each, even if the upload repeats them — to a
   new row pack (streamed to a temporary Parquet file);
4. run-length encode where every row lives into manifest ranges.
The pack becomes an immutable object only when the whole stream has been read, and is
registered with its key index run in one transaction; a bad row anywhere leaves
nothing behind but a deleted temporary file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import hashing, key_index
from .catalog import Catalog
from .catalog.packs import record_pack
from .commit_ids import table_content_id
from .errors import SourceRestart
from .hashing import key_bytes
from .key_index import KeyIndex
from .key_runs import KeyRun, RunStack
from .manifest import Manifest, run_lengths
from .models import ColumnInfo, TableInfo
from .objects import ObjectStore

if TYPE_CHECKING:  # the readers (pandas, openpyxl) are the caller's; ingest only streams their batches
    from .readers import SourceTable

PACK_ROW_GROUP = 1024 * 1024  # large row groups: one dictionary per string column, ~25% smaller packs
HASH_ROWS = 256 * 1024  # rows hashed in one DuckDB query: big enough for its threads, small enough for memory
K1, K2 = hashing.KEY_COLUMNS


def _data_schema(hashed: pa.Table) -> pa.Schema:
    """The schema of a hashed table's data columns (without the row-key columns)."""
    return pa.schema([f for f in hashed.schema if f.name not in hashing.KEY_COLUMNS])


def _canonical_groups(source: SourceTable) -> Iterator[pa.Table]:
    """The source's batches gathered into tables of about :data:`HASH_ROWS` rows, canonical."""
    group: list[pa.RecordBatch] = []
    rows = 0
    for batch in source.batches():
        group.append(batch)
        rows += batch.num_rows
        if rows >= HASH_ROWS:
            yield hashing.canonicalize(pa.Table.from_batches(group))
            group, rows = [], 0
    if group:
        yield hashing.canonicalize(pa.Table.from_batches(group))


def _ahead(items: Iterator[pa.Table], name: str) -> Iterator[pa.Table]:
    """Make the next item in a background thread while the caller works on this one."""

    def step() -> pa.Table | None:
        return next(items, None)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        pending = pool.submit(step)
        while (item := pending.result()) is not None:
            pending = pool.submit(step)
            yield item


def _hashed_ahead(source: SourceTable) -> Iterator[pa.Table]:
    """The source as hashed groups, in a pipeline of two background threads: one reads and
    canonicalises the group after next, one hashes the next (DuckDB), while the caller
    stores this one. Arrow, DuckDB and numpy release the GIL, so the stages overlap."""
    canonical = _ahead(_canonical_groups(source), "dsa-read")
    return _ahead((hashing.with_keys(t) for t in canonical), "dsa-hash")


@dataclass(frozen=True)
class IngestedTable:
    """A table stored from a source: its catalog entry plus what the upload cost."""

    info: TableInfo
    rows: int
    reused_rows: int
    stored_rows: int


class _Resolver:
    """Locates every row of an upload: stored before (the key index), earlier in this upload, or new."""

    NEW = -1

    def __init__(self, index: KeyIndex) -> None:
        self.index = index
        self.fresh = RunStack()
        self.stored = 0

    def resolve(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Locate a batch's rows; rows not seen before become the next rows of the new pack.

        Returns:
            (slot per row — :attr:`NEW` for the new pack, position per row, batch row
            numbers of the rows to store in order, number of rows stored before this upload).
        """
        n = len(k1)
        order = np.argsort(k1)  # not stable (4x faster): repeated keys are ordered by row below
        s1, s2 = k1[order], k2[order]
        slot = np.full(n, self.NEW, dtype=np.int64)
        pos = np.zeros(n, dtype=np.int64)
        hit, hit_slot, hit_pos = self.index.lookup(s1, s2)
        slot[hit], pos[hit] = hit_slot, hit_pos
        rest = np.flatnonzero(slot == self.NEW)
        if len(rest):
            seen, seen_pos = self.fresh.probe(s1[rest], s2[rest])
            pos[rest[seen]] = seen_pos
            rest = np.delete(rest, seen)
        to_store = np.empty(0, dtype=np.int64)
        if len(rest):
            r1, r2, rid = s1[rest], s2[rest], order[rest]
            first = np.ones(len(rest), dtype=bool)
            if len(rest) > 1 and np.any(r1[1:] == r1[:-1]):  # repeated rows: first occurrence of each key
                o = np.lexsort((rid, r2, r1))
                rest, r1, r2, rid = rest[o], r1[o], r2[o], rid[o]
                first[1:] = (r1[1:] != r1[:-1]) | (r2[1:] != r2[:-1])
            stored_here = np.zeros(n, dtype=bool)
            stored_here[rid[first]] = True
            to_store = np.flatnonzero(stored_here)  # in upload order
            first_pos = self.stored + (np.cumsum(stored_here) - 1)[rid[first]]
            pos[rest] = first_pos[np.cumsum(first) - 1]
            self.fresh.add(r1[first], r2[first], first_pos)
            self.stored += len(to_store)
        out_slot, out_pos = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        out_slot[order], out_pos[order] = slot, pos
        return out_slot, out_pos, to_store, len(hit)


class _PackWriter:
    """Streams new rows into one Parquet pack, buffering them into large row groups."""

    def __init__(self) -> None:
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add(self, path, rows: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(path, rows.schema, compression="zstd", write_page_checksum=True)
        self.pending.append(rows)
        self.pending_rows += rows.num_rows
        if self.pending_rows >= PACK_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending), row_group_size=PACK_ROW_GROUP)
            self.pending, self.pending_rows = [], 0

    def close(self) -> None:
        if self.writer is not None:
            self._flush()
            self.writer.close()
            self.writer = None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def ingest_table(objects: ObjectStore, catalog: Catalog, source: SourceTable) -> IngestedTable:
    """Store one source table's rows (only those not stored before) and its manifest.

    The source is read once; a reader that finds mid-stream that its column types do not
    fit (:class:`~.errors.SourceRestart`) is read again from the start with the
    settled types — nothing durable was written before the end of the stream.

    Args:
        objects: The object store.
        catalog: The catalog (the key index of the schema; the new pack and its index run).
        source: The table to store, as a stream of record batches.

    Returns:
        The table's catalog entry and its new/reused/stored row counts.
    """
    while True:
        try:
            return _ingest_once(objects, catalog, source)
        except SourceRestart as restart:
            source = restart.source


def _ingest_once(objects: ObjectStore, catalog: Catalog, source: SourceTable) -> IngestedTable:
    """One pass of :func:`ingest_table` over ``source``."""
    resolver: _Resolver | None = None
    writer = _PackWriter()
    data_schema: pa.Schema | None = None
    ranges: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    digest = hashlib.sha256()
    rows = reused = 0
    nulls: np.ndarray | None = None
    with objects.temp_path(".parquet") as tmp:
        try:
            for table in _hashed_ahead(source):
                if data_schema is None:
                    data_schema = _data_schema(table)
                    logical = hashing.logical_schema(data_schema)
                    resolver = _Resolver(KeyIndex.load(objects, catalog, hashing.schema_id(logical)))
                    nulls = np.zeros(len(data_schema), dtype=np.int64)
                if table.num_rows == 0:
                    continue
                k1 = table.column(K1).to_numpy()
                k2 = table.column(K2).to_numpy()
                digest.update(key_bytes(table.select([K1, K2])))
                slot, pos, store_rids, batch_reused = resolver.resolve(k1, k2)
                ranges.append(run_lengths(slot, pos))
                if len(store_rids) == table.num_rows:  # every row new (a first upload): no copy
                    writer.add(tmp, table)
                elif len(store_rids):
                    writer.add(tmp, table.take(pa.array(store_rids)))
                nulls += np.array([c.null_count for c in table.columns[: len(data_schema)]], dtype=np.int64)
                rows += table.num_rows
                reused += batch_reused
            if data_schema is None:  # a source with no batches at all: an empty table
                data_schema = _data_schema(hashing.hashed(source.schema.empty_table()))
                logical = hashing.logical_schema(data_schema)
                nulls = np.zeros(len(data_schema), dtype=np.int64)
            writer.close()
        finally:
            writer.abort()
        stored = resolver.stored if resolver else 0
        pack_ids = list(resolver.index.pack_ids) if resolver else []
        if stored:
            size = tmp.stat().st_size  # (GC may delete an identical old pack between put and stat)
            new_id = objects.put_file("packs", tmp)
            pack_ids.append(new_id)
            _register_pack(objects, catalog, hashing.schema_id(logical), new_id, stored, size,
                           resolver.fresh.runs(new_id))
    if ranges:
        slot = np.concatenate([r[0] for r in ranges])
        manifest = Manifest(
            tuple(pack_ids),
            np.where(slot == _Resolver.NEW, len(pack_ids) - 1, slot).astype(np.int32),
            np.concatenate([r[1] for r in ranges]),
            np.concatenate([r[2] for r in ranges]),
        ).merged_runs().compacted()
    else:
        manifest = Manifest.empty()
    manifest_id = objects.put_bytes("manifests", manifest.to_bytes())
    logical_types = dict(logical)
    columns = tuple(
        ColumnInfo(f.name, str(f.type), logical_types[f.name], int(n)) for f, n in zip(data_schema, nulls)
    )
    info = TableInfo(
        name=source.name, row_count=rows, manifest_id=manifest_id,
        content_id=table_content_id(logical, rows, digest.digest()), schema=data_schema, columns=columns,
        stats={"rows": rows, "new_rows": rows - reused, "reused_rows": reused, "stored_rows": stored,
               "ranges": manifest.range_count,
               **({"damaged_packs_skipped": resolver.index.skipped} if resolver and resolver.index.skipped else {})},
    )
    return IngestedTable(info, rows, reused, stored)


def _register_pack(objects: ObjectStore, catalog: Catalog, schema_fp: str, pack_id: str, rows: int, size: int,
                   runs: list[KeyRun]) -> None:
    """Register a new pack and its key index runs in one transaction, then merge runs within a budget."""
    stored_runs = key_index.store_runs(objects, runs)
    with catalog.write() as conn:
        record_pack(conn, pack_id, schema_fp, rows, size)
        key_index.register_runs(conn, schema_fp, stored_runs)
    key_index.compact(objects, catalog, schema_fp, budget_rows=key_index.MERGE_BUDGET_ROWS)
