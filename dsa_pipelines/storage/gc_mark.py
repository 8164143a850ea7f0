"""The mark phase of garbage collection: which commits, manifests, packs and reports are live.

Roots: every ref; the old and new commit of every reflog entry younger than the
retention; every commit younger than the grace period (a staged upload between stage
and publish); sampling records (``sampling_rounds.commit_id``, ``sampling_runs.source_commit``)
and every commit referenced by a foreign key from a table not named ``commit_*``
(``samples`` …, and any future table such as pending merges). From the roots, every
parent (not only first parents) is live.

Manifests of live commits are read one at a time; for each the referenced packs and
the live position ranges per pack are collected with numpy (ranges, never row keys), so
memory follows the number of ranges, not of stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import sqlalchemy as sa

from .catalog import key_index as key_index_rows
from .catalog.gc_guard import chunks
from .catalog.gc_schema import gc_registrations
from .catalog.schema import commit_parents, commit_tables, commits, reflog, refs
from .manifest import Manifest
from .models import format_time
from .objects import ObjectStore

EXPLICIT_ROOTS = (("sampling_rounds", "commit_id"), ("sampling_runs", "source_commit"))
LIVE_REPORTS = (("sampling_rounds", "rows_object", None), ("commit_profiles", "report_id", "commit_id"))
_UNION_EVERY = 1 << 16  # merge a pack's accumulated ranges once this many are pending


def union_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint ranges covering the union of the given ranges (vectorised).

    Returns:
        (starts, counts) of the merged ranges.
    """
    keep = counts > 0
    starts, counts = starts[keep].astype(np.int64), counts[keep].astype(np.int64)
    if len(starts) == 0:
        return starts, counts
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], starts[order] + counts[order]
    reach = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > reach[:-1]
    heads = np.flatnonzero(new)
    ends = np.maximum.reduceat(e, heads)
    return s[heads], ends - s[heads]


@dataclass
class PackLive:
    """Live position ranges of one pack, merged lazily."""

    starts: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)
    pending: int = 0

    def add(self, starts: np.ndarray, counts: np.ndarray) -> None:
        self.starts.append(starts)
        self.counts.append(counts)
        self.pending += len(starts)
        if self.pending > _UNION_EVERY:
            self.merged()

    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        """The union of the live ranges (and keep only that)."""
        if len(self.starts) != 1 or self.pending:
            s, c = union_ranges(np.concatenate(self.starts), np.concatenate(self.counts))
            self.starts, self.counts, self.pending = [s], [c], 0
        return self.starts[0], self.counts[0]

    def live_rows(self) -> int:
        return int(self.merged()[1].sum())


@dataclass
class LiveSet:
    """Everything GC must keep."""

    commits: set[str] = field(default_factory=set)
    manifests: set[str] = field(default_factory=set)
    reports: set[str] = field(default_factory=set)
    index_runs: set[str] = field(default_factory=set)
    packs: dict[str, PackLive] = field(default_factory=dict)
    manifest_packs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def objects(self, kind: str) -> set[str] | dict:
        return {"packs": self.packs, "manifests": self.manifests, "reports": self.reports,
                "keyindex": self.index_runs}[kind]


@dataclass(frozen=True)
class Snapshot:
    """Where the catalog's append-only logs stood when marking started."""

    registration_seq: int
    reflog_id: int


def take_snapshot(conn: sa.Connection) -> Snapshot:
    """The newest registration and reflog entry (anything newer is a root at the sweep)."""
    seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(gc_registrations.c.seq), 0))).scalar()
    rid = conn.execute(sa.select(sa.func.coalesce(sa.func.max(reflog.c.id), 0))).scalar()
    return Snapshot(int(seq), int(rid))


def _foreign_key_roots(conn: sa.Connection) -> list[tuple[str, str]]:
    """(table, column) pairs referencing ``commits.id`` from tables that are not per-commit caches."""
    inspector = sa.inspect(conn)
    out = []
    for name in inspector.get_table_names():
        if name.startswith("commit") or name == "refs":
            continue
        for fk in inspector.get_foreign_keys(name):
            if fk["referred_table"] == "commits":
                out.extend((name, col) for col in fk["constrained_columns"])
    return out


def root_commits(conn: sa.Connection, now: datetime, grace, retention) -> set[str]:
    """Every root commit id (see the module docstring)."""
    roots = {r.commit_id for r in conn.execute(sa.select(refs.c.commit_id))}
    since = format_time(now - retention)
    for r in conn.execute(sa.select(reflog.c.old_commit, reflog.c.new_commit).where(reflog.c.created_at >= since)):
        roots.update(c for c in (r.old_commit, r.new_commit) if c)
    young = format_time(now - grace)
    roots.update(r.id for r in conn.execute(sa.select(commits.c.id).where(commits.c.created_at >= young)))
    tables = set(sa.inspect(conn).get_table_names())
    for name, column in {*EXPLICIT_ROOTS, *_foreign_key_roots(conn)}:
        if name in tables:
            col = sa.column(column)
            query = sa.select(col).select_from(sa.table(name, col)).where(col.is_not(None)).distinct()
            roots.update(r[0] for r in conn.execute(query))
    return roots


def delta_roots(conn: sa.Connection, snap: Snapshot) -> set[str]:
    """Commits registered, and ref moves made, since the snapshot (roots at the sweep)."""
    out = {r.commit_id for r in conn.execute(
        sa.select(gc_registrations.c.commit_id).where(gc_registrations.c.seq > snap.registration_seq).distinct())}
    for r in conn.execute(sa.select(reflog.c.old_commit, reflog.c.new_commit).where(reflog.c.id > snap.reflog_id)):
        out.update(c for c in (r.old_commit, r.new_commit) if c)
    return out


def ancestors(conn: sa.Connection, roots: Iterable[str]) -> set[str]:
    """The roots that exist plus all their ancestors (every parent)."""
    edges: dict[str, list[str]] = {}
    for r in conn.execute(sa.select(commit_parents.c.commit_id, commit_parents.c.parent_id)):
        edges.setdefault(r.commit_id, []).append(r.parent_id)
    existing = {r.id for r in conn.execute(sa.select(commits.c.id))}
    seen: set[str] = set()
    stack = [c for c in roots if c in existing]
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        stack.extend(p for p in edges.get(c, ()) if p not in seen)
    return seen


def add_manifest(objects: ObjectStore, live: LiveSet, manifest_id: str) -> None:
    """Mark a manifest and the pack ranges it references (reads that one manifest)."""
    if manifest_id in live.manifests:
        return
    m = Manifest.from_bytes(objects.read_verified("manifests", manifest_id), manifest_id)
    live.manifests.add(manifest_id)
    live.manifest_packs[manifest_id] = m.packs
    if not len(m.pack):
        return
    order = np.argsort(m.pack, kind="stable")
    pack = m.pack[order]
    bounds = np.flatnonzero(np.diff(pack)) + 1
    for idx, s, c in zip(np.split(pack, bounds), np.split(m.start[order], bounds), np.split(m.count[order], bounds)):
        live.packs.setdefault(m.packs[int(idx[0])], PackLive()).add(s, c)


def mark(conn: sa.Connection, objects: ObjectStore, roots: Iterable[str], live: LiveSet | None = None) -> LiveSet:
    """Extend (or start) a live set from root commits.

    Raises:
        CorruptObject: a live manifest is missing or corrupt (GC must not sweep then).
    """
    live = live or LiveSet()
    live.index_runs |= set(key_index_rows.live_run_ids(conn))  # the dedup index's runs (docs/key-index.md)
    new = ancestors(conn, roots) - live.commits
    live.commits |= new
    manifest_ids: set[str] = set()
    for batch in chunks(sorted(new)):
        manifest_ids.update(r.manifest_id for r in conn.execute(
            sa.select(commit_tables.c.manifest_id).where(commit_tables.c.commit_id.in_(batch))))
    for mid in sorted(manifest_ids):
        add_manifest(objects, live, mid)
    tables = set(sa.inspect(conn).get_table_names())
    for name, column, by_commit in LIVE_REPORTS:
        if name not in tables:
            continue
        col = sa.column(column)
        if by_commit is None:
            live.reports.update(r[0] for r in conn.execute(sa.select(col).select_from(sa.table(name, col))))
            continue
        key = sa.column(by_commit)
        for batch in chunks(sorted(new)):
            live.reports.update(r[0] for r in conn.execute(
                sa.select(col).select_from(sa.table(name, col, key)).where(key.in_(batch))))
    return live
