"""Sorted key runs: the unit of the key index, in memory and as an immutable object.

A run maps 96-bit row keys (``k1`` int64, ``k2`` int32; see :mod:`.hashing`) to where
the row is stored: ``pack`` (an ordinal into the run's pack list) and ``pos`` (the row's
position in that pack). Rows are sorted by ``k1``; a key may appear more than once (two
racing writers can store the same row in two packs) and any of its entries is a valid
location.

Stored, a run is an uncompressed Arrow IPC file (``docs/key-index.md``): it is memory
mapped, and a probe of k sorted keys is a binary search that touches O(k log N) pages
of the run, never the whole file. Everything here is numpy — no Python loop over rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import CorruptObject, InvalidInput
from .manifest import expand_ranges

FORMAT = "dsa-key-index-v1"
KIND = "keyindex"
SUFFIX = ".arrow"
_INT32_MAX = np.iinfo(np.int32).max


@dataclass(frozen=True)
class KeyRun:
    """Keys sorted by ``k1`` with their locations.

    Attributes:
        packs: Pack object ids; ``pack`` holds ordinals into this tuple.
        k1: int64, ascending.
        k2: int32.
        pack: Integer ordinals into ``packs``.
        pos: Integer positions in the pack.
    """

    packs: tuple[str, ...]
    k1: np.ndarray = field(repr=False)
    k2: np.ndarray = field(repr=False)
    pack: np.ndarray = field(repr=False)
    pos: np.ndarray = field(repr=False)

    @property
    def row_count(self) -> int:
        """Number of entries."""
        return len(self.k1)

    @classmethod
    def from_unsorted(cls, packs: tuple[str, ...], k1: np.ndarray, k2: np.ndarray, pack: np.ndarray,
                      pos: np.ndarray) -> KeyRun:
        """Sort entries by ``k1`` (stable, so the result depends only on the input order)."""
        order = np.argsort(k1, kind="stable")
        return cls(packs, k1[order], k2[order], pack[order], pos[order])

    def probe(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Find keys (``k1`` ascending, for a cache-friendly search) in this run.

        Returns:
            (indices into the queries that were found, their pack ordinals, their positions);
            a key stored twice is reported once.
        """
        owner, entry = search(self.k1, self.k2, k1, k2)
        return owner, self.pack[entry].astype(np.int64), self.pos[entry].astype(np.int64)

    def to_table(self) -> pa.Table:
        """The run as an Arrow table with narrow types and the pack list in the metadata.

        A run of a single pack has no ``pack`` column (every ordinal is 0).
        """
        pos_type = np.int32 if not self.row_count or int(self.pos.max()) <= _INT32_MAX else np.int64
        columns = {"k1": pa.array(self.k1, pa.int64()), "k2": pa.array(self.k2, pa.int32())}
        if len(self.packs) > 1:
            pack_type = np.uint16 if len(self.packs) <= np.iinfo(np.uint16).max else np.int32
            columns["pack"] = pa.array(self.pack.astype(pack_type, copy=False))
        columns["pos"] = pa.array(self.pos.astype(pos_type, copy=False))
        meta = {"dsa": json.dumps({"format": FORMAT, "packs": list(self.packs)})}
        return pa.table(columns).replace_schema_metadata(meta)


def search(run_k1: np.ndarray, run_k2: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised look-up of keys in entries sorted by ``k1``.

    Args:
        run_k1: The entries' k1, ascending; run_k2: their k2.
        k1: The query keys' k1, ascending (numpy narrows each search by the previous one);
            k2: their k2.

    Returns:
        (indices of the queries found, index of one matching entry for each); a key
        stored twice is reported once, with its first entry.
    """
    empty = np.empty(0, np.int64)
    n = len(run_k1)
    if not len(k1) or not n:
        return empty, empty
    lo = np.searchsorted(run_k1, k1, side="left")
    hit = np.flatnonzero(run_k1[np.minimum(lo, n - 1)] == k1)
    if not len(hit):
        return empty, empty
    entry, owner = lo[hit], hit
    after = entry + 1
    repeated = (after < n) & (run_k1[np.minimum(after, n - 1)] == k1[hit])
    if repeated.any():  # equal k1 (a key stored twice, or a 64-bit collision): every candidate
        count = np.ones(len(hit), dtype=np.int64)
        count[repeated] = np.searchsorted(run_k1, k1[hit[repeated]], side="right") - entry[repeated]
        entry = expand_ranges(entry, count)
        owner = np.repeat(hit, count)
    match = run_k2[entry] == k2[owner]
    entry, owner = entry[match], owner[match]
    if len(owner) > 1 and np.any(owner[1:] == owner[:-1]):
        keep = np.ones(len(owner), dtype=bool)
        keep[1:] = owner[1:] != owner[:-1]
        entry, owner = entry[keep], owner[keep]
    return owner.astype(np.int64), entry.astype(np.int64)


def merge(runs: list[KeyRun]) -> KeyRun:
    """One run holding every entry of ``runs`` (pack lists united, order by ``k1``)."""
    index: dict[str, int] = {}
    k1s, k2s, packs, poss = [], [], [], []
    for run in runs:
        remap = np.array([index.setdefault(p, len(index)) for p in run.packs] or [0], dtype=np.int32)
        k1s.append(run.k1)
        k2s.append(run.k2)
        packs.append(remap[run.pack.astype(np.int64)] if run.row_count else np.empty(0, np.int32))
        poss.append(run.pos.astype(np.int64))
    k1 = np.concatenate(k1s) if k1s else np.empty(0, np.int64)
    order = np.argsort(k1, kind="stable")  # timsort: near-linear over concatenated sorted runs
    return KeyRun(tuple(index), k1[order], np.concatenate(k2s)[order], np.concatenate(packs)[order],
                  np.concatenate(poss)[order])


def write(run: KeyRun, path: Path) -> None:
    """Write a run as an uncompressed Arrow IPC file (one record batch)."""
    table = run.to_table()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))


def read(path: Path, run_id: str) -> KeyRun:
    """Memory-map a stored run (zero copy: only the pages a probe touches are read).

    Raises:
        CorruptObject: the run is missing, unreadable or not a key index run.
    """
    try:
        source = pa.memory_map(str(path), "r")
        reader = pa.ipc.open_file(source)
        meta = json.loads(reader.schema.metadata[b"dsa"])
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown format {meta.get('format')!r}")
        table = reader.read_all()
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as e:
        raise CorruptObject(f"key index run {run_id} cannot be read: {e}", object_id=run_id) from e
    packs = tuple(meta["packs"])
    if table.num_rows == 0:
        empty = np.empty(0, np.int64)
        return KeyRun(packs, empty, np.empty(0, np.int32), empty, empty)
    k1, k2, pos = (table.column(name).chunk(0).to_numpy() for name in ("k1", "k2", "pos"))
    if "pack" in table.column_names:
        pack = table.column("pack").chunk(0).to_numpy()
    else:  # a run of one pack: every ordinal is 0 (a read-only view, no memory)
        pack = np.broadcast_to(np.uint16(0), (table.num_rows,))
    return KeyRun(packs, k1, k2, pack, pos)


class RunStack:
    """The keys a running upload has stored so far, as a few in-memory runs of one pack.

    Runs are merged like a binary counter (a run is merged with the previous one while
    that is not bigger), up to ``cap`` entries a run, so adding n keys costs
    O(n log(cap / batch)) and a probe searches O(log(cap / batch) + n / cap) runs.
    Positions are int32: 16 bytes a key.
    """

    def __init__(self, cap: int = 1 << 22) -> None:
        self.cap = cap
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, k1: np.ndarray, k2: np.ndarray, pos: np.ndarray) -> None:
        """Add keys sorted by ``k1`` with their positions in the new pack."""
        if not len(k1):
            return
        if int(pos.max()) > _INT32_MAX:
            raise InvalidInput("an upload is limited to 2**31 distinct rows per table")
        self._runs.append((k1, k2, pos.astype(np.int32)))
        while len(self._runs) > 1:
            (a1, a2, ap), (b1, b2, bp) = self._runs[-2], self._runs[-1]
            if len(a1) > len(b1) or len(a1) + len(b1) > self.cap:
                break
            k1 = np.concatenate([a1, b1])
            order = np.argsort(k1, kind="stable")
            self._runs[-2:] = [(k1[order], np.concatenate([a2, b2])[order], np.concatenate([ap, bp])[order])]

    def probe(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Find keys (``k1`` ascending): (indices of the queries found, their positions)."""
        found = np.zeros(len(k1), dtype=bool)
        where = np.zeros(len(k1), dtype=np.int64)
        for r1, r2, rp in self._runs:
            rest = np.flatnonzero(~found)
            if not len(rest):
                break
            idx, entry = search(r1, r2, k1[rest], k2[rest])
            found[rest[idx]] = True
            where[rest[idx]] = rp[entry]
        hit = np.flatnonzero(found)
        return hit, where[hit]

    def runs(self, pack_id: str) -> list[KeyRun]:
        """The keys as runs of the finished pack ``pack_id`` (small runs merged into one)."""
        out: list[KeyRun] = []
        for k1, k2, pos in self._runs:
            out.append(KeyRun((pack_id,), k1, k2, np.zeros(len(k1), np.uint16), pos))
        small = [r for r in out if r.row_count < self.cap]
        if len(small) > 1:
            out = [r for r in out if r.row_count >= self.cap] + [merge(small)]
        return out
