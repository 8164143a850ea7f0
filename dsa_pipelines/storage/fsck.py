"""The integrity check: every ref, commit, table, manifest, range and object, and (deep)
every stored row's hash and every table's content id recomputed from the values.

Problems are collected, never raised: the report names dataset, commit, table and
object for each. Unreferenced objects are reclaimable garbage, counted but not a
problem (GC removes them once they are older than the grace period).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from . import hashing, key_runs
from .catalog import key_index as key_index_rows
from .catalog.gc_schema import gc_tombstones
from .catalog.schema import commit_parents, commit_tables, commits, packs, refs
from .commit_ids import table_content_id
from .errors import CorruptObject, DsaError
from .gc_mark import LIVE_REPORTS
from .gc_models import FsckProblem, FsckReport
from .manifest import Manifest, expand_ranges
from .models import schema_from_text
from .objects import KINDS, ObjectStore
from .rows import read_manifest

DEEP_BATCH_ROWS = 1 << 20  # one pack row group: DuckDB hashes big batches fastest
CONTENT_WINDOW_ROWS = 1 << 20
KEY_CACHE_ROWS = 16 << 20  # stored keys kept from the rehash pass for the content ids (12 bytes each)


@dataclass
class _Check:
    objects: ObjectStore
    problems: list[FsckProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)  # objects found missing or corrupt
    keys: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # pack -> stored (k1, k2)
    users: dict[str, dict[str, str | None]] = field(default_factory=dict)  # pack -> a table using it (furthest)
    cached_rows: int = 0

    def problem(self, kind: str, message: str, **where: str | None) -> None:
        self.problems.append(FsckProblem(kind, message, **where))

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def verify(self, kind: str, object_id: str, suffix: str = ".parquet", **where: str | None) -> bool:
        """Existence and content hash of an object; records a problem and returns False if bad."""
        if object_id in self.bad:
            return False
        self.count(f"{kind}_checked")
        if not self.objects.exists(kind, object_id, suffix):
            self.bad.add(object_id)
            self.problem("missing_object", f"{kind} object {object_id} is missing{_where(where)}",
                         object_id=object_id, **where)
            return False
        if not self.objects.verify(kind, object_id, suffix):
            self.bad.add(object_id)
            self.problem("corrupt_object", f"{kind} object {object_id} does not hash to its name{_where(where)}",
                         object_id=object_id, **where)
            return False
        return True


def _where(where: dict) -> str:
    parts = [f"{k} {v[:12] if k == 'commit' else v}" for k, v in where.items() if v]
    return f" ({', '.join(parts)})" if parts else ""


def _catalog(check: _Check, conn: sa.Connection) -> tuple[dict, list]:
    commit_rows = {r.id: r for r in conn.execute(sa.select(commits.c.id, commits.c.dataset, commits.c.row_count))}
    check.count("commits", len(commit_rows))
    for r in conn.execute(sa.select(refs)):
        check.count("refs")
        if r.commit_id not in commit_rows:
            check.problem("missing_commit", f"{r.kind} {r.name!r} of {r.dataset!r} points at missing commit "
                          f"{r.commit_id[:12]}", dataset=r.dataset, commit=r.commit_id)
    for r in conn.execute(sa.select(commit_parents)):
        if r.parent_id not in commit_rows:
            ds = commit_rows[r.commit_id].dataset if r.commit_id in commit_rows else None
            check.problem("missing_parent", f"commit {r.commit_id[:12]} of {ds!r} has missing parent "
                          f"{r.parent_id[:12]}", dataset=ds, commit=r.commit_id)
    tables = conn.execute(sa.select(commit_tables.c.commit_id, commit_tables.c.name, commit_tables.c.manifest_id,
                                    commit_tables.c.content_id, commit_tables.c.row_count,
                                    commit_tables.c.arrow_schema)).all()
    sums: dict[str, int] = {}
    for t in tables:
        sums[t.commit_id] = sums.get(t.commit_id, 0) + t.row_count
    for cid, r in commit_rows.items():
        if sums.get(cid, 0) != r.row_count:
            check.problem("row_count_mismatch", f"commit {cid[:12]} of {r.dataset!r} records {r.row_count} rows "
                          f"but its tables hold {sums.get(cid, 0)}", dataset=r.dataset, commit=cid)
    check.count("tables", len(tables))
    return commit_rows, tables


def _manifests(check: _Check, commit_rows: dict, tables: list) -> tuple[dict[str, Manifest], dict[str, int]]:
    """Verify and parse every referenced manifest; returns them and the furthest row each pack must hold."""
    parsed: dict[str, Manifest] = {}
    reach: dict[str, int] = {}
    for t in tables:
        ds = commit_rows[t.commit_id].dataset if t.commit_id in commit_rows else None
        where = {"dataset": ds, "commit": t.commit_id, "table": t.name}
        if t.manifest_id not in parsed:
            if not check.verify("manifests", t.manifest_id, **where):
                continue
            try:
                m = Manifest.from_bytes(check.objects.read_bytes("manifests", t.manifest_id), t.manifest_id)
            except CorruptObject as e:
                check.bad.add(t.manifest_id)
                check.problem("corrupt_object", f"{e}{_where(where)}", object_id=t.manifest_id, **where)
                continue
            parsed[t.manifest_id] = m
            if len(m.pack):
                ends = np.zeros(len(m.packs), dtype=np.int64)
                np.maximum.at(ends, m.pack, m.start + m.count)
                for pid, end in zip(m.packs, ends.tolist()):
                    if end > reach.get(pid, -1):
                        reach[pid] = end
                        check.users[pid] = where
        m = parsed.get(t.manifest_id)
        if m is not None and m.row_count != t.row_count:
            check.problem("row_count_mismatch", f"table {t.name!r} of commit {t.commit_id[:12]} records "
                          f"{t.row_count} rows but its manifest {t.manifest_id[:12]} has {m.row_count}",
                          object_id=t.manifest_id, **where)
    check.count("manifests", len(parsed))
    return parsed, reach


def _packs(check: _Check, conn: sa.Connection, reach: dict[str, int]) -> dict[str, int]:
    """Verify every referenced pack and that every range lies inside it; returns {pack: rows}."""
    catalog_rows = {r.id: r.row_count for r in conn.execute(sa.select(packs.c.id, packs.c.row_count))}
    rows: dict[str, int] = {}
    for pid, end in sorted(reach.items()):
        where = check.users.get(pid, {})
        if not check.verify("packs", pid, **where):
            continue
        try:
            n = pq.ParquetFile(check.objects.path("packs", pid)).metadata.num_rows
        except (OSError, pa.ArrowException) as e:
            check.bad.add(pid)
            check.problem("corrupt_object", f"row pack {pid} cannot be read: {e}{_where(where)}", object_id=pid,
                          **where)
            continue
        rows[pid] = n
        check.count("stored_rows", n)
        if end > n:
            check.problem("range_outside_pack", f"a manifest range reaches row {end} of pack {pid} which has "
                          f"{n} rows{_where(where)}", object_id=pid, **where)
        if pid in catalog_rows and catalog_rows[pid] != n:
            check.problem("row_count_mismatch", f"pack {pid} holds {n} rows but the catalog records "
                          f"{catalog_rows[pid]}", object_id=pid)
    check.count("packs", len(rows))
    return rows


def _reports(check: _Check, conn: sa.Connection) -> set[str]:
    names = set(sa.inspect(conn).get_table_names())
    found: set[str] = set()
    for name, column, _ in LIVE_REPORTS:
        if name in names:
            col = sa.column(column)
            found.update(r[0] for r in conn.execute(sa.select(col).select_from(sa.table(name, col))))
    on_disk = {o.object_id: o for o in check.objects.iter_objects("reports")}
    for oid in sorted(found):
        o = on_disk.get(oid)
        if o is None:
            check.problem("missing_object", f"report object {oid} is missing", object_id=oid)
        elif not check.verify("reports", oid, o.suffix):
            pass
    return found


def _index_runs(check: _Check, conn: sa.Connection) -> set[str]:
    """Verify every live run of the dedup index (docs/key-index.md); returns their ids."""
    runs = set(key_index_rows.live_run_ids(conn))
    for run_id in sorted(runs):
        check.verify(key_runs.KIND, run_id, key_runs.SUFFIX)
    return runs


def _garbage(check: _Check, conn: sa.Connection, referenced: dict[str, set[str]], grace: timedelta) -> None:
    tombstoned = {r.object_id for r in conn.execute(sa.select(gc_tombstones.c.object_id))}
    for kind in KINDS:
        for o in check.objects.iter_objects(kind):
            if o.object_id not in referenced[kind] or o.object_id in tombstoned:
                check.count("garbage_objects")
                check.count("garbage_bytes", o.size)
    cutoff = time.time() - grace.total_seconds()
    for path, mtime, _ in check.objects.iter_temp_files():
        if mtime < cutoff:
            check.problem("stale_temp_file", f"temporary file {path.name} is older than {grace} (left by a "
                          "crashed writer; gc removes it)", object_id=path.name)


def _deep_pack(check: _Check, pid: str) -> None:
    """Recompute every stored row's key from its values and compare with the stored key."""
    pf = pq.ParquetFile(check.objects.path("packs", pid), page_checksum_verification=True)
    data_cols = [n for n in pf.schema_arrow.names if n not in hashing.KEY_COLUMNS]
    position = 0
    k1s, k2s = [], []
    try:
        for batch in pf.iter_batches(batch_size=DEEP_BATCH_ROWS):
            table = pa.Table.from_batches([batch])
            if check.cached_rows + position + table.num_rows <= KEY_CACHE_ROWS:
                k1s.append(table.column(hashing.KEY_COLUMNS[0]).to_numpy())
                k2s.append(table.column(hashing.KEY_COLUMNS[1]).to_numpy())
            keys = hashing.row_keys(table.select(data_cols))
            same = pc.and_(pc.equal(keys.column(0), table.column(hashing.KEY_COLUMNS[0])),
                           pc.equal(keys.column(1), table.column(hashing.KEY_COLUMNS[1])))
            bad = table.num_rows - pc.sum(same.cast(pa.int64())).as_py() if table.num_rows else 0
            if bad:
                first = position + int(np.flatnonzero(~same.to_numpy(zero_copy_only=False))[0])
                where = check.users.get(pid, {})
                check.problem("row_hash_mismatch", f"pack {pid}: {bad} row(s) do not hash to their stored key "
                              f"(first at position {first}){_where(where)}", object_id=pid, **where)
                return
            position += table.num_rows
            check.count("rows_rehashed", table.num_rows)
    except (OSError, pa.ArrowException, DsaError) as e:
        where = check.users.get(pid, {})
        check.problem("corrupt_object", f"row pack {pid} cannot be read: {e}{_where(where)}", object_id=pid,
                      **where)
        return
    if sum(len(k) for k in k1s) == position:
        check.keys[pid] = (np.concatenate(k1s) if k1s else np.empty(0, np.int64),
                           np.concatenate(k2s) if k2s else np.empty(0, np.int32))
        check.cached_rows += position


def _window_keys(check: _Check, window: Manifest) -> pa.Table | None:
    """The window's stored keys in manifest order, gathered from the rehash pass's keys (None: not all cached)."""
    n = window.row_count
    k1, k2 = np.empty(n, np.int64), np.empty(n, np.int32)
    first = np.cumsum(window.count) - window.count
    for j in np.unique(window.pack):
        pid = window.packs[int(j)]
        if pid not in check.keys:
            return None
        sel = window.pack == j
        pos = expand_ranges(window.start[sel], window.count[sel])
        src1, src2 = check.keys[pid]
        if len(pos) and int(pos.max()) >= len(src1):
            return None
        dst = expand_ranges(first[sel], window.count[sel])
        k1[dst], k2[dst] = src1[pos], src2[pos]
    return pa.table({hashing.KEY_COLUMNS[0]: k1, hashing.KEY_COLUMNS[1]: k2})


def _deep_content(check: _Check, tables: Iterable, commit_rows: dict, parsed: dict[str, Manifest]) -> None:
    """Recompute each table's content id from its row keys in manifest order."""
    seen: dict[tuple[str, str], str] = {}
    for t in tables:
        m = parsed.get(t.manifest_id)
        if m is None or any(p in check.bad for p in m.packs):
            continue
        key = (t.manifest_id, t.arrow_schema)
        if key not in seen:
            schema = schema_from_text(t.arrow_schema)
            digest = hashlib.sha256()
            try:
                for start in range(0, m.row_count, CONTENT_WINDOW_ROWS):
                    window = m.window(start, CONTENT_WINDOW_ROWS)
                    keys = _window_keys(check, window)
                    if keys is None:
                        keys = read_manifest(check.objects, window, schema, columns=[], with_keys=True)
                    digest.update(hashing.key_bytes(keys))
            except DsaError as e:
                check.problem("corrupt_object", f"rows of manifest {t.manifest_id} cannot be read: {e}",
                              object_id=t.manifest_id)
                continue
            seen[key] = table_content_id(hashing.logical_schema(schema), m.row_count, digest.digest())
        if seen[key] != t.content_id:
            ds = commit_rows[t.commit_id].dataset if t.commit_id in commit_rows else None
            check.problem("content_id_mismatch", f"table {t.name!r} of commit {t.commit_id[:12]} records content "
                          f"id {t.content_id[:12]} but its rows give {seen[key][:12]}", dataset=ds,
                          commit=t.commit_id, table=t.name, object_id=t.manifest_id)
    check.count("content_ids_checked", len(seen))


def fsck(store, *, deep: bool = False, grace: timedelta = timedelta(hours=1)) -> FsckReport:
    """Check a store's integrity (see the module docstring).

    Args:
        store: The :class:`~.repository.Store`.
        deep: Also recompute every stored row's hash and every table's content id.
        grace: Temporary files older than this are reported as leftovers.

    Returns:
        FsckReport(ok, problems, counts).
    """
    check = _Check(store.objects)
    with store.catalog.read() as conn:
        commit_rows, tables = _catalog(check, conn)
        parsed, reach = _manifests(check, commit_rows, tables)
        pack_rows = _packs(check, conn, reach)
        reports = _reports(check, conn)
        index_runs = _index_runs(check, conn)
        referenced = {"manifests": {t.manifest_id for t in tables}, "packs": set(reach), "reports": reports,
                      "keyindex": index_runs}
        _garbage(check, conn, referenced, grace)
    if deep:
        for pid in sorted(pack_rows):
            if pid not in check.bad:
                _deep_pack(check, pid)
        _deep_content(check, tables, commit_rows, parsed)
    return FsckReport(ok=not check.problems, problems=tuple(check.problems), counts=dict(check.counts))
