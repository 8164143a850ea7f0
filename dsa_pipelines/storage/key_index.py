"""The persistent dedup index of a logical schema: which stored row has which row key.

Rows of one logical schema (its fingerprint, :func:`.hashing.schema_id`) can share
a row key; rows of different schemas cannot. Per schema the index is a set of
immutable, sorted runs (:mod:`.key_runs`), like the sorted runs of an LSM tree:

- every new row pack adds one run (its keys, sorted) in the same catalog transaction
  that registers the pack, so a commit writes O(rows uploaded), never O(stored rows);
- a probe memory-maps each live run whose [min k1, max k1] admits some of the keys and
  binary-searches it, touching O(k log N) pages for k keys;
- runs of one size tier are merged once there are :data:`MERGE_FANOUT` of them
  (tiered merging, done at commit time within a row budget, so a commit's merge work is
  bounded); :func:`compact` merges everything (for maintenance / garbage collection).

The catalog (``key_index_runs``, ``key_index_run_packs``; SQL in
:mod:`.catalog.key_index`) lists the live runs and the packs each covers. A pack no
live run covers (a store older than the index, or a pack whose run was dropped) is
indexed again from its own key columns on the next probe.
Racing writers may both store a new row; the index then lists the key twice and a
probe takes either entry — both are the same row. Format: ``docs/key-index.md``.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import sqlalchemy as sa

from . import key_runs
from .catalog import Catalog
from .catalog import key_index as sql
from .catalog.key_index import RunInfo
from .errors import CorruptObject
from .key_runs import KeyRun
from .objects import ObjectStore
from .rows import read_pack_keys

_log = logging.getLogger(__name__)
_reported: set[str] = set()  # damaged packs already logged by this process


def _report_damage(pack_id: str, error: CorruptObject) -> None:
    """Log a damaged pack once per process (a missing one may just have been collected)."""
    where = error.fields.get("path") or pack_id
    if where not in _reported:
        _reported.add(where)
        _log.warning("dedup leaves out a damaged row pack; its rows are stored again: %s", error)

__all__ = ["KeyIndex", "RunInfo", "compact", "compact_all", "forget_packs", "live_run_ids", "live_runs",
           "register_runs", "store_runs"]

MERGE_FANOUT = 4
"""Runs of one size tier that trigger a merge."""
MERGE_BUDGET_ROWS = 1 << 22
"""Entries one commit may merge (bounds its time and memory; :func:`compact` merges the rest)."""
_TIER_BASE_ROWS = 4096


def live_runs(catalog: Catalog, schema_fp: str) -> list[RunInfo]:
    """The live runs of a schema, newest first."""
    with catalog.read() as conn:
        return sql.live_runs(conn, schema_fp)


def live_run_ids(catalog: Catalog) -> list[str]:
    """Object ids (kind ``keyindex``) of every live run: roots for garbage collection.

    Runs not listed (merged away, or written by a writer whose commit failed) are
    garbage once older than the grace period.
    """
    with catalog.read() as conn:
        return sql.live_run_ids(conn)


def forget_packs(conn: sa.Connection, pack_ids: list[str]) -> list[str]:
    """Drop every live run that covers one of ``pack_ids`` (before those packs are deleted).

    The other packs those runs covered are indexed again, from their own key columns, by
    the next probe of their schema. Runs in the caller's write transaction.

    Returns:
        The ids of the runs dropped (garbage now: GC may delete their objects).
    """
    runs = sql.runs_covering(conn, pack_ids)
    sql.drop_runs(conn, runs)
    return runs


def store_runs(objects: ObjectStore, runs: list[KeyRun]) -> list[tuple[RunInfo, KeyRun]]:
    """Write runs as ``keyindex`` objects (idempotent); returns their catalog entries with the runs."""
    stored = []
    for run in runs:
        with objects.temp_path(key_runs.SUFFIX) as tmp:
            key_runs.write(run, tmp)
            run_id = objects.put_file(key_runs.KIND, tmp, key_runs.SUFFIX)
        lo, hi = (int(run.k1[0]), int(run.k1[-1])) if run.row_count else (0, -1)
        stored.append((RunInfo(run_id, run.row_count, lo, hi), run))
    return stored


def register_runs(conn: sa.Connection, schema_fp: str, stored: list[tuple[RunInfo, KeyRun]]) -> None:
    """Make stored runs live, in the caller's write transaction."""
    for info, run in stored:
        sql.register_run(conn, schema_fp, info, run.packs)


def _index_pack(objects: ObjectStore, pack_id: str) -> KeyRun:
    """A run of one pack's keys, read from the pack's own key columns (checked against its id).

    Raises:
        CorruptObject: the pack is missing or damaged.
    """
    keys = read_pack_keys(objects, pack_id)
    n = keys.num_rows
    return KeyRun.from_unsorted((pack_id,), keys.column(0).to_numpy(), keys.column(1).to_numpy(),
                                np.zeros(n, np.uint16), np.arange(n, dtype=np.int64))


def _backfill(objects: ObjectStore, catalog: Catalog, schema_fp: str) -> None:
    with catalog.read() as conn:
        uncovered = sql.uncovered_packs(conn, schema_fp)
    for pack_id in uncovered:
        try:
            run = _index_pack(objects, pack_id)
        except CorruptObject as e:  # damage must not block writes: the pack is left out; fsck/GC deal with it
            _report_damage(pack_id, e)
            continue
        stored = store_runs(objects, [run])
        with catalog.write() as conn:
            register_runs(conn, schema_fp, stored)


class KeyIndex:
    """The live runs of one schema, opened lazily for probing.

    Locations come back as *slots*: indices into :attr:`pack_ids`, which grows as probes
    find rows in packs not seen before (so a manifest lists only the packs it uses).
    """

    def __init__(self, objects: ObjectStore, schema_fp: str, runs: list[RunInfo]) -> None:
        self.objects = objects
        self.schema_fp = schema_fp
        self.runs = runs
        self.slots: dict[str, int] = {}
        self._opened: dict[str, KeyRun] = {}
        self._usable: dict[str, bool] = {}
        self.skipped: list[str] = []  # damaged packs whose rows this upload stores anew

    @classmethod
    def load(cls, objects: ObjectStore, catalog: Catalog, schema_fp: str) -> KeyIndex:
        """The index of a schema as the catalog lists it now.

        Packs no live run covers are indexed first. A live run whose object is missing
        (deleted by a garbage collector that did not know it) or damaged (its bytes no
        longer hash to its id: checked once per process, since a flipped position would
        make a manifest point at the wrong row) is dropped, and its packs are indexed
        again, so the index heals instead of failing every commit or lying.
        """
        _backfill(objects, catalog, schema_fp)
        runs = live_runs(catalog, schema_fp)
        missing = [r.id for r in runs if not _intact(objects, r.id)]
        if missing:
            with catalog.write() as conn:
                sql.drop_runs(conn, missing)
            _backfill(objects, catalog, schema_fp)
            runs = live_runs(catalog, schema_fp)
        return cls(objects, schema_fp, runs)

    @property
    def pack_ids(self) -> tuple[str, ...]:
        """The packs that slots refer to, in slot order."""
        return tuple(self.slots)

    @property
    def row_count(self) -> int:
        """Entries in the live runs."""
        return sum(r.row_count for r in self.runs)

    def lookup(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Find stored rows by key.

        Args:
            k1: The keys' k1, ascending. k2: their k2.

        Returns:
            (indices of the keys found, their slots, their positions in those packs).
        """
        found = np.zeros(len(k1), dtype=bool)
        slot = np.zeros(len(k1), dtype=np.int64)
        pos = np.zeros(len(k1), dtype=np.int64)
        for info in self.runs:
            rest = np.flatnonzero(~found)
            if not len(rest):
                break
            keys = k1[rest]  # ascending: the run's [min, max] admits one stretch of them
            sub = rest[np.searchsorted(keys, info.min_k1, side="left"):np.searchsorted(keys, info.max_k1, side="right")]
            if not len(sub):
                continue
            run = self._run(info.id)
            idx, ords, where = run.probe(k1[sub], k2[sub])
            if not len(idx):
                continue
            distinct, inverse = np.unique(ords, return_inverse=True)
            usable = np.array([self._check(run.packs[o]) for o in distinct.tolist()], dtype=bool)
            if not usable.all():  # rows of a damaged pack are not reused: the upload stores them anew
                keep = usable[inverse.reshape(-1)]
                idx, ords, where = idx[keep], ords[keep], where[keep]
                if not len(idx):
                    continue
                distinct, inverse = np.unique(ords, return_inverse=True)
            slots = np.array([self.slots.setdefault(run.packs[o], len(self.slots)) for o in distinct.tolist()],
                             dtype=np.int64)
            found[sub[idx]] = True
            slot[sub[idx]] = slots[inverse.reshape(-1)]
            pos[sub[idx]] = where
        hit = np.flatnonzero(found)
        return hit, slot[hit], pos[hit]

    def _check(self, pack_id: str) -> bool:
        """Whether a pack may be reused: its bytes match its id (hashed once per process, see
        :meth:`.ObjectStore.verified_path`), so a new commit never points at damaged rows."""
        if pack_id not in self._usable:
            try:
                self.objects.verified_path("packs", pack_id)
                self._usable[pack_id] = True
            except CorruptObject as e:
                self._usable[pack_id] = False
                self.skipped.append(pack_id)
                _report_damage(pack_id, e)
        return self._usable[pack_id]

    def _run(self, run_id: str) -> KeyRun:
        if run_id not in self._opened:
            self._opened[run_id] = key_runs.read(self.objects.path(key_runs.KIND, run_id, key_runs.SUFFIX), run_id)
        return self._opened[run_id]


def _intact(objects: ObjectStore, run_id: str) -> bool:
    """Whether a run's object exists and hashes to its id (hashed once per process)."""
    try:
        objects.verified_path(key_runs.KIND, run_id, key_runs.SUFFIX)
    except CorruptObject as e:
        if objects.exists(key_runs.KIND, run_id, key_runs.SUFFIX):
            _log.warning("dedup index run dropped and rebuilt from its packs: %s", e)
        return False
    return True


def _tier(rows: int) -> int:
    return max(0, int(math.log(max(rows, 1) / _TIER_BASE_ROWS, MERGE_FANOUT))) if rows > _TIER_BASE_ROWS else 0


class _Lost(Exception):
    """Another writer merged some of the same runs first (internal: rolls the merge back)."""


def _merge(objects: ObjectStore, catalog: Catalog, schema_fp: str, group: list[RunInfo]) -> bool:
    damaged = [r.id for r in group if not _intact(objects, r.id)]
    if damaged:  # never merge a damaged run into a new, valid-looking one: drop it (its packs are re-indexed)
        with catalog.write() as conn:
            sql.drop_runs(conn, damaged)
        return False
    merged = key_runs.merge([key_runs.read(objects.path(key_runs.KIND, r.id, key_runs.SUFFIX), r.id)
                             for r in group])
    stored = store_runs(objects, [merged])
    ids = [r.id for r in group]
    try:
        with catalog.write() as conn:
            if sql.drop_runs(conn, ids) != len(ids):
                raise _Lost
            register_runs(conn, schema_fp, stored)
    except _Lost:
        return False
    return True


def compact(objects: ObjectStore, catalog: Catalog, schema_fp: str, budget_rows: int | None = None) -> int:
    """Merge runs of a schema: tiered within ``budget_rows``, or all into one (``None``).

    Safe against concurrent writers and mergers: a merge replaces its inputs in one
    transaction only if they are all still live; the input objects stay until garbage
    collection, so a probe that listed them keeps working.

    Args:
        objects: The object store.
        catalog: The catalog.
        schema_fp: The schema fingerprint.
        budget_rows: Most entries to merge in total (tiered policy); ``None`` merges
            every live run of the schema into one.

    Returns:
        The number of merges done.
    """
    merges = 0
    while True:
        runs = live_runs(catalog, schema_fp)
        if budget_rows is None:
            group = runs if len(runs) > 1 else []
        else:
            tiers: dict[int, list[RunInfo]] = {}
            for r in sorted(runs, key=lambda r: (r.row_count, r.id)):
                tiers.setdefault(_tier(r.row_count), []).append(r)
            full = [t for t in sorted(tiers) if len(tiers[t]) >= MERGE_FANOUT]
            group = tiers[full[0]] if full else []
            if sum(r.row_count for r in group) > budget_rows:
                group = []
        if not group or not _merge(objects, catalog, schema_fp, group):
            return merges
        merges += 1
        if budget_rows is None:
            return merges
        budget_rows -= sum(r.row_count for r in group)


def compact_all(objects: ObjectStore, catalog: Catalog) -> int:
    """Merge every indexed schema's runs into one (maintenance); returns the number of merges."""
    with catalog.read() as conn:
        schemas = sql.indexed_schemas(conn)
    return sum(compact(objects, catalog, fp) for fp in schemas)
