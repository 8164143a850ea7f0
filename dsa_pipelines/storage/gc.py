"""Garbage collection: mark what is live, sweep the rest, compact mostly-dead packs.

Phases (each timed in the report):

1. **lock** — one GC at a time (:mod:`.gc_lock`); leftovers of a crashed run (tombstoned
   files not yet deleted) are finished first; soft-deleted datasets past the retention
   are purged.
2. **mark** — a snapshot of the catalog's logs is taken, then the live set is computed
   from the roots (:mod:`.gc_mark`), reading manifests one at a time.
3. **sweep_catalog** — one transaction holding the sweep guard exclusively: commits
   registered and refs moved since the snapshot are marked too, then unreachable commits
   (with every row keyed by them) and dead ``packs`` rows are deleted, expired reflog
   entries pruned, and every dead object older than the grace period tombstoned.
4. **compact** — live packs with less than half their rows live are rewritten
   (:mod:`.compaction`).
5. **sweep_objects** — tombstoned files and stale temporary files are deleted, then
   their tombstones.

Writers follow the other half of the protocol (:mod:`.gc_guard`); see ``docs/gc.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from .catalog import key_index as key_index_rows
from .catalog.gc_guard import chunks, hold_sweep_guard
from .catalog.gc_schema import gc_registrations, gc_runs, gc_tombstones
from .catalog.schema import commit_parents, commit_tables, commits, datasets, packs, reflog
from .compaction import candidates, compact
from .errors import InvalidInput
from .gc_lock import GcLock
from .gc_mark import LiveSet, Snapshot, delta_roots, mark, root_commits, take_snapshot
from .gc_models import GcReport
from .key_index import forget_packs
from .lifecycle import purge_catalog
from .models import format_time, utc_now
from .objects import KINDS, StoredObject

COMPACT_BELOW = 0.5
SWEEP_ATTEMPTS = 3
TEMP_GRACE = timedelta(minutes=10)  # a temporary file is a write in progress: never removed sooner


@dataclass
class _Run:
    """State of one GC run."""

    store: object
    dry_run: bool
    grace: timedelta
    retention: timedelta
    compact_below: float
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def cutoff(self) -> float:
        """Objects with an mtime before this (epoch seconds) are old enough to delete."""
        return (self.now - self.grace).timestamp()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 4)


def _dependent_tables(conn: sa.Connection) -> list[tuple[sa.Table, list[str]]]:
    """Per-commit tables (``commit_*`` with a foreign key to commits), children first."""
    meta = sa.MetaData()
    meta.reflect(conn)
    out = []
    for t in reversed(meta.sorted_tables):
        if not t.name.startswith("commit_"):
            continue
        cols = [fk.parent.name for fk in t.foreign_keys if fk.column.table.name == "commits"]
        if cols:
            out.append((t, cols))
    return out


def delete_commits(conn: sa.Connection, dead: set[str]) -> None:
    """Delete commits and every row keyed by them, in the caller's transaction."""
    if not dead:
        return
    ordered = sorted(dead)
    for table, cols in _dependent_tables(conn):
        for batch in chunks(ordered):
            conn.execute(table.delete().where(sa.or_(*(table.c[c].in_(batch) for c in cols))))
    for batch in chunks(ordered):
        conn.execute(commit_tables.delete().where(commit_tables.c.commit_id.in_(batch)))
        conn.execute(commit_parents.delete().where(commit_parents.c.commit_id.in_(batch)))
    for batch in chunks(ordered):
        conn.execute(commits.delete().where(commits.c.id.in_(batch)))


def _dead_objects(run: _Run, live: LiveSet, listing: list[StoredObject]) -> list[StoredObject]:
    return [o for o in listing if o.object_id not in live.objects(o.kind) and o.mtime < run.cutoff]


def _finish_tombstones(run: _Run) -> tuple[int, int]:
    """Delete every tombstoned file, then its tombstone (also a crashed run's). Returns (files, bytes)."""
    objects, catalog = run.store.objects, run.store.catalog
    with catalog.read() as conn:
        rows = conn.execute(sa.select(gc_tombstones)).all()
    n = freed = 0
    for r in rows:
        path = objects.path(r.kind, r.object_id, r.suffix)
        try:
            size = path.stat().st_size
            path.unlink()
            n, freed = n + 1, freed + size
        except FileNotFoundError:
            pass
    for batch in chunks([r.object_id for r in rows]):
        with catalog.write() as conn:
            conn.execute(gc_tombstones.delete().where(gc_tombstones.c.object_id.in_(batch)))
    return n, freed


def _expired_datasets(run: _Run) -> list[str]:
    with run.store.catalog.read() as conn:
        cutoff = format_time(run.now - run.retention)
        return [r.name for r in conn.execute(sa.select(datasets.c.name).where(
            datasets.c.deleted_at.is_not(None), datasets.c.deleted_at < cutoff))]


def _sweep_catalog(run: _Run, live: LiveSet, snap: Snapshot, listing: list[StoredObject],
                   run_id: int) -> tuple[set[str], list[StoredObject], int]:
    """The sweep transaction. Returns (dead commits, tombstoned objects, reflog entries pruned)."""
    store = run.store
    with store.catalog.write() as conn:
        hold_sweep_guard(conn)
        mark(conn, store.objects, delta_roots(conn, snap), live)
        all_commits = {r.id for r in conn.execute(sa.select(commits.c.id))}
        dead = all_commits - live.commits
        delete_commits(conn, dead)
        pruned = conn.execute(reflog.delete().where(
            reflog.c.created_at < format_time(run.now - run.retention))).rowcount
        dead_packs = {r.id for r in conn.execute(sa.select(packs.c.id))} - set(live.packs)
        young = {o.object_id for o in listing if o.kind == "packs" and o.mtime >= run.cutoff}
        for batch in chunks(sorted(dead_packs - young)):
            # index runs pointing into them go too (the packs they also covered are re-indexed on the next probe)
            live.index_runs -= set(forget_packs(conn, list(batch)))
            conn.execute(packs.delete().where(packs.c.id.in_(batch)))
        condemned = []
        for o in _dead_objects(run, live, listing):
            try:  # re-check the age now: a writer may have freshened it since the listing
                if o.path.stat().st_mtime < run.cutoff:
                    condemned.append(o)
            except FileNotFoundError:
                continue
        now = utc_now()
        for batch in [condemned[i:i + 500] for i in range(0, len(condemned), 500)]:
            conn.execute(gc_tombstones.insert(), [
                {"object_id": o.object_id, "kind": o.kind, "suffix": o.suffix, "run_id": run_id, "created_at": now}
                for o in batch])
        conn.execute(gc_registrations.delete().where(gc_registrations.c.seq <= snap.registration_seq))
    return dead, condemned, pruned


def _listing(run: _Run) -> list[StoredObject]:
    return [o for kind in KINDS for o in run.store.objects.iter_objects(kind)]


def collect(store, *, dry_run: bool = False, grace: timedelta = timedelta(hours=1),
            reflog_retention: timedelta = timedelta(days=30), compact_below: float = COMPACT_BELOW,
            lock_timeout: float | None = None, progress=None) -> GcReport:
    """Run garbage collection on a store (see the module docstring and ``docs/gc.md``).

    Args:
        store: The :class:`~.repository.Store`.
        dry_run: Report what would be removed and compacted; change nothing.
        grace: Objects and commits younger than this are never removed.
        reflog_retention: Reflog entries (and soft-deleted datasets) younger than this are kept.
        compact_below: Compact live packs whose live fraction is below this (0 disables).
        lock_timeout: Seconds to wait for a running GC (None: wait).
        progress: Optional ``callable(str)`` told about each phase.

    Returns:
        The GcReport.

    Raises:
        GcBusy: another GC held the lock past ``lock_timeout``.
        CorruptObject: a live manifest is missing or corrupt (nothing is swept; run fsck).
    """
    if grace < timedelta(0) or reflog_retention < timedelta(0):
        raise InvalidInput(f"grace and retention must not be negative (got {grace}, {reflog_retention})")
    say = progress or (lambda _msg: None)
    run = _Run(store, dry_run, grace, reflog_retention, compact_below)
    lock = GcLock(store.catalog, lock_timeout)
    with run.phase("lock"):
        lock.acquire()
    try:
        return _collect_locked(run, lock, say)
    finally:
        lock.release()


def _collect_locked(run: _Run, lock: GcLock, say) -> GcReport:
    catalog = run.store.catalog
    run_id = 0
    purged: list[str] = _expired_datasets(run)
    if not run.dry_run:
        with catalog.write() as conn:  # we hold the lock: a run still "running" died (kill -9, power loss)
            conn.execute(gc_runs.update().where(gc_runs.c.status == "running").values(status="crashed"))
            run_id = conn.execute(gc_runs.insert().values(started_at=utc_now(), status="running",
                                                          holder=lock.holder)).inserted_primary_key[0]
        try:
            return _collect_run(run, lock, say, run_id, purged)
        except BaseException as e:
            with catalog.write() as conn:
                conn.execute(gc_runs.update().where(gc_runs.c.id == run_id).values(
                    finished_at=utc_now(), status="failed", report=json.dumps({"error": repr(e)})))
            raise
    return _collect_run(run, lock, say, run_id, purged)


def _collect_run(run: _Run, lock: GcLock, say, run_id: int, purged: list[str]) -> GcReport:
    store, catalog = run.store, run.store.catalog
    other = freed = 0
    if not run.dry_run:
        with run.phase("lock"):
            other, freed = _finish_tombstones(run)
            for name in purged:
                purge_catalog(catalog, name, actor="gc", reason="retention expired")
    say(f"mark: roots from refs, reflog (< {run.retention}), commits younger than {run.grace}")
    with run.phase("mark"):
        with catalog.read() as conn:
            snap = take_snapshot(conn)
            live = mark(conn, store.objects, root_commits(conn, run.now, run.grace, run.retention))
        listing = _listing(run)
    lock.heartbeat()
    with catalog.read() as conn:
        pack_rows = {r.id: r.row_count for r in conn.execute(sa.select(packs.c.id, packs.c.row_count))}
        all_commits = {r.id for r in conn.execute(sa.select(commits.c.id))}
    young_packs = {o.object_id for o in listing if o.kind == "packs" and o.mtime >= run.cutoff}
    if run.dry_run:
        with catalog.read() as conn:  # the index runs the sweep would drop with the dead packs
            for batch in chunks(sorted(set(pack_rows) - set(live.packs) - young_packs)):
                live.index_runs -= set(key_index_rows.runs_covering(conn, list(batch)))
        dead_objects = _dead_objects(run, live, listing)
        dead_commits = all_commits - live.commits
        to_compact = candidates(live, pack_rows, run.compact_below, young_packs)
        with catalog.read() as conn:
            pruned = conn.execute(sa.select(sa.func.count()).select_from(reflog).where(
                reflog.c.created_at < format_time(run.now - run.retention))).scalar()
        return _report(run, live, listing, dead_commits, dead_objects, to_compact_n=len(to_compact),
                       compacted_bytes=sum(o.size for o in listing if o.object_id in set(to_compact)),
                       purged=purged, pruned=int(pruned), extra_removed=0, extra_bytes=0)
    say("sweep_catalog: unreachable commits, dead packs, tombstones")
    with run.phase("sweep_catalog"):
        for attempt in range(1, SWEEP_ATTEMPTS + 1):
            try:
                dead_commits, condemned, pruned = _sweep_catalog(run, live, snap, listing, run_id)
                break
            except sa.exc.DBAPIError:  # e.g. a statistics row inserted for a dying commit meanwhile: redo
                if attempt == SWEEP_ATTEMPTS:
                    raise
                time.sleep(0.1 * attempt)
    lock.heartbeat()
    say("compact: rewriting mostly-dead packs")
    with run.phase("compact"):
        done = compact(store.objects, catalog, live,
                       candidates(live, pack_rows, run.compact_below, young_packs))
    say(f"sweep_objects: deleting {len(condemned)} objects")
    with run.phase("sweep_objects"):
        _finish_tombstones(run)  # this run's condemned files (counted from the sweep)
        tmp_n = tmp_b = 0
        temp_cutoff = (run.now - max(run.grace, TEMP_GRACE)).timestamp()
        for path, mtime, size in store.objects.iter_temp_files():
            if mtime < temp_cutoff:
                path.unlink(missing_ok=True)
                tmp_n, tmp_b = tmp_n + 1, tmp_b + size
    report = _report(run, live, listing, dead_commits, condemned, to_compact_n=len(done),
                     compacted_bytes=sum(cp.old_bytes for cp in done), purged=purged, pruned=pruned,
                     extra_removed=other + tmp_n, extra_bytes=freed + tmp_b)
    with catalog.write() as conn:
        conn.execute(gc_runs.update().where(gc_runs.c.id == run_id).values(
            finished_at=utc_now(), status="succeeded", report=json.dumps(report.to_dict(), sort_keys=True)))
    return report


def _report(run: _Run, live: LiveSet, listing: list[StoredObject], dead_commits: set[str],
            dead_objects: list[StoredObject], *, to_compact_n: int, compacted_bytes: int, purged: list[str],
            pruned: int, extra_removed: int, extra_bytes: int) -> GcReport:
    by_kind = {k: [o for o in dead_objects if o.kind == k] for k in KINDS}
    on_disk = {k: {o.object_id for o in listing if o.kind == k} for k in KINDS}
    return GcReport(
        dry_run=run.dry_run,
        commits_removed=len(dead_commits),
        commits_kept=len(live.commits),
        manifests_removed=len(by_kind["manifests"]),
        manifests_kept=len(on_disk["manifests"]) - len(by_kind["manifests"]),
        packs_removed=len(by_kind["packs"]),
        packs_kept=len(on_disk["packs"]) - len(by_kind["packs"]),
        other_removed=len(by_kind["reports"]) + extra_removed,
        bytes_freed=sum(o.size for o in dead_objects) + extra_bytes,
        packs_compacted=to_compact_n,
        bytes_compacted=compacted_bytes,
        datasets_purged=tuple(purged),
        reflog_pruned=pruned,
        removed_commits=tuple(sorted(dead_commits)),
        seconds=dict(run.seconds),
    )
