"""Turning a stream of record batches into a stored table: dedup, row pack, manifest.

For each record batch (bounded size, so memory stays flat as files grow):
1. canonicalise and hash every row (DuckDB, vectorised) → 96-bit row keys;
2. look the keys up in the index of rows already stored with the same logical schema
   (rows of another schema cannot share a hash, so only those packs are searched);
3. append rows not stored before — once each, even if the upload repeats them — to a
   new row pack (streamed to a temporary Parquet file);
4. run-length encode where every row lives into manifest ranges.
The pack becomes an immutable object only when the whole stream has been read; a bad
row anywhere leaves nothing behind but a deleted temporary file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import hashing
from .catalog import Catalog
from .catalog.packs import packs_for_schema, record_pack
from .commit_ids import table_content_id
from .engine import connect as duckdb_connect
from .errors import CorruptObject
from .hashing import key_bytes
from .manifest import Manifest, run_lengths
from .models import ColumnInfo, TableInfo
from .objects import ObjectStore
from .readers import SourceTable

PACK_ROW_GROUP = 1024 * 1024  # large row groups: one dictionary per string column, ~25% smaller packs
K1, K2 = hashing.KEY_COLUMNS


def _data_schema(hashed: pa.Table) -> pa.Schema:
    """The schema of a hashed table's data columns (without the row-key columns)."""
    return pa.schema([f for f in hashed.schema if f.name not in hashing.KEY_COLUMNS])


def _hashed_ahead(source: SourceTable) -> Iterator[pa.Table]:
    """Read and hash the next batch in a background thread while the caller stores this one
    (DuckDB and Arrow release the GIL, so reading, hashing and the index work overlap)."""
    batches = iter(source.batches())
    def next_hashed() -> pa.Table | None:
        return next((hashing.hashed(b) for b in batches), None)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dsa-hash") as pool:
        pending = pool.submit(next_hashed)
        while (table := pending.result()) is not None:
            pending = pool.submit(next_hashed)
            yield table


@dataclass(frozen=True)
class IngestedTable:
    """A table stored from a source: its catalog entry plus what the upload cost."""

    info: TableInfo
    rows: int
    reused_rows: int
    stored_rows: int


class _KeyIndex:
    """Row keys already stored for one logical schema → (pack index, position), in DuckDB."""

    NEW = -1

    def __init__(self, con: duckdb.DuckDBPyConnection, objects: ObjectStore, pack_ids: list[str]) -> None:
        self.con = con
        parts = []
        for i, pid in enumerate(pack_ids):
            try:
                keys = pq.read_table(objects.path("packs", pid), columns=[K1, K2])
            except FileNotFoundError:  # collected by GC since it was listed: its rows are stored anew
                continue
            except (OSError, pa.ArrowException) as e:
                raise CorruptObject(f"row pack {pid} cannot be read: {e}", object_id=pid) from e
            n = keys.num_rows
            parts.append(keys.append_column("pack", pa.array(np.full(n, i, np.int32)))
                         .append_column("pos", pa.array(np.arange(n, dtype=np.int64))))
        con.execute(f"CREATE TEMP TABLE idx ({K1} BIGINT, {K2} INTEGER, pack INTEGER, pos BIGINT)")
        if parts:
            con.register("existing_keys", pa.concat_tables(parts))
            # No GROUP BY here (it would cost a hash table over every stored key): a key is
            # stored twice only when two writers raced, and `resolve` handles that case.
            con.execute("INSERT INTO idx SELECT * FROM existing_keys")
            con.unregister("existing_keys")

    def resolve(self, batch_keys: pa.Table, new_base: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Locate every row of a batch; register rows not seen before as the next rows of the new pack.

        Returns:
            (pack index per row, position per row, batch row numbers of the rows to store,
            number of rows that were already stored before this upload).
        """
        n = batch_keys.num_rows
        keys = batch_keys.append_column("rid", pa.array(np.arange(n, dtype=np.int64)))
        con = self.con
        con.register("batch_keys", keys)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE m AS SELECT b.rid, b.{K1}, b.{K2}, i.pack, i.pos "
            f"FROM batch_keys b LEFT JOIN idx i USING ({K1}, {K2})"
        )
        con.unregister("batch_keys")
        if con.execute("SELECT count(*) FROM m").fetchone()[0] != n:  # a key stored in two packs
            con.execute("CREATE OR REPLACE TEMP TABLE m AS SELECT DISTINCT ON (rid) * FROM m ORDER BY rid, pack")
        reused = con.execute("SELECT count(*) FROM m WHERE pack IS NOT NULL AND pack <> ?", [self.NEW]).fetchone()[0]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE fresh AS SELECT {K1}, {K2}, min(rid) AS rid FROM m "
            f"WHERE pack IS NULL GROUP BY {K1}, {K2}"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE fresh_pos AS SELECT {K1}, {K2}, rid, "
            f"? + row_number() OVER (ORDER BY rid) - 1 AS pos FROM fresh",
            [new_base],
        )
        con.execute(f"INSERT INTO idx SELECT {K1}, {K2}, ?, pos FROM fresh_pos", [self.NEW])
        located = con.execute(
            f"SELECT coalesce(m.pack, ?) AS pack, coalesce(m.pos, f.pos) AS pos "
            f"FROM m LEFT JOIN fresh_pos f USING ({K1}, {K2}) ORDER BY m.rid",
            [self.NEW],
        ).fetchnumpy()
        to_store = con.execute("SELECT rid FROM fresh_pos ORDER BY pos").fetchnumpy()
        return (
            np.asarray(located["pack"], dtype=np.int32),
            np.asarray(located["pos"], dtype=np.int64),
            np.asarray(to_store["rid"], dtype=np.int64),
            int(reused),
        )


class _PackWriter:
    """Streams new rows into one Parquet pack, buffering them into large row groups."""

    def __init__(self) -> None:
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add(self, path, rows: pa.Table) -> None:  # noqa: ANN001
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


def _existing_packs(catalog: Catalog, schema_fp: str) -> list[str]:
    with catalog.read() as conn:
        return packs_for_schema(conn, schema_fp)


def ingest_table(objects: ObjectStore, catalog: Catalog, source: SourceTable) -> IngestedTable:
    """Store one source table's rows (only those not stored before) and its manifest.

    Args:
        objects: The object store.
        catalog: The catalog (to find packs of the same schema and register the new one).
        source: The table to store, as a stream of record batches.

    Returns:
        The table's catalog entry and its new/reused/stored row counts.
    """
    con = duckdb_connect(temp_directory=objects.tmp)
    index: _KeyIndex | None = None
    existing: list[str] = []
    writer = _PackWriter()
    data_schema: pa.Schema | None = None
    ranges: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    digest = hashlib.sha256()
    rows = reused = stored = 0
    nulls: np.ndarray | None = None
    with objects.temp_path(".parquet") as tmp:
        try:
            for table in _hashed_ahead(source):
                if data_schema is None:
                    data_schema = _data_schema(table)
                    logical = hashing.logical_schema(data_schema)
                    existing = _existing_packs(catalog, hashing.schema_id(logical))
                    index = _KeyIndex(con, objects, existing)
                    nulls = np.zeros(len(data_schema), dtype=np.int64)
                if table.num_rows == 0:
                    continue
                keys = table.select([K1, K2])
                digest.update(key_bytes(keys))
                pack, pos, store_rids, batch_reused = index.resolve(keys, stored)
                pack = np.where(pack == _KeyIndex.NEW, len(existing), pack).astype(np.int32)
                ranges.append(run_lengths(pack, pos))
                if len(store_rids) == table.num_rows:  # every row new (a first upload): no copy
                    writer.add(tmp, table)
                    stored += len(store_rids)
                elif len(store_rids):
                    writer.add(tmp, table.take(pa.array(store_rids)))
                    stored += len(store_rids)
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
            con.close()
        pack_ids = list(existing)
        if stored:
            size = tmp.stat().st_size  # (GC may delete an identical old pack between put and stat)
            new_id = objects.put_file("packs", tmp)
            pack_ids.append(new_id)
            with catalog.write() as conn:
                record_pack(conn, new_id, hashing.schema_id(logical), stored, size)
    if ranges:
        manifest = Manifest(
            tuple(pack_ids),
            np.concatenate([r[0] for r in ranges]),
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
               "ranges": manifest.range_count},
    )
    return IngestedTable(info, rows, reused, stored)
