"""Manifests: the ordered row sequence of one table of a commit, as run-length ranges.

A manifest says, for logical rows 0..N-1 in upload order, where each row is stored:
a list of ranges ``(pack, start, count)`` meaning "rows start..start+count-1 of row pack
``packs[pack]``". Unchanged stretches of a re-upload map to the same long ranges, so a
commit that changes k rows of N costs O(k) ranges, not O(N) entries. The logical row id
(``logical_row_id``) of a row is simply its position in this sequence.

Everything here is numpy over ranges or positions — never a Python loop over rows.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CorruptObject, InvalidInput

_FORMAT = "dsa-manifest-v1"


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + c)`` for every range, vectorised.

    Args:
        starts: First position of each range.
        counts: Length of each range (non-negative).

    Returns:
        int64 positions, ``counts.sum()`` of them.
    """
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    keep = counts > 0
    starts, counts = starts[keep], counts[keep]
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(total, dtype=np.int64)


def run_lengths(pack: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encode per-row (pack, position) pairs into ranges.

    A new range starts wherever the pack changes or the position does not follow the
    previous one.

    Returns:
        (pack, start, count) arrays, one entry per range.
    """
    n = len(pos)
    if n == 0:
        return (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int64))
    pack = np.asarray(pack, dtype=np.int32)
    pos = np.asarray(pos, dtype=np.int64)
    breaks = np.ones(n, dtype=bool)
    breaks[1:] = (pack[1:] != pack[:-1]) | (pos[1:] != pos[:-1] + 1)
    starts = np.flatnonzero(breaks)
    counts = np.diff(np.append(starts, n)).astype(np.int64)
    return pack[starts], pos[starts], counts


@dataclass(frozen=True)
class Manifest:
    """An immutable ordered sequence of row references.

    Attributes:
        packs: Row-pack object ids referenced by ``pack`` indices.
        pack: Per range, index into ``packs``.
        start: Per range, first row position within the pack.
        count: Per range, number of rows.
    """

    packs: tuple[str, ...]
    pack: np.ndarray = field(repr=False)
    start: np.ndarray = field(repr=False)
    count: np.ndarray = field(repr=False)

    @classmethod
    def empty(cls) -> Manifest:
        """A manifest with no rows."""
        return cls((), np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int64))

    @classmethod
    def from_positions(cls, packs: tuple[str, ...], pack: np.ndarray, pos: np.ndarray) -> Manifest:
        """Build a manifest from per-row (pack index, position), merging runs; unused packs are dropped."""
        p, s, c = run_lengths(pack, pos)
        return cls(tuple(packs), p, s, c).compacted()

    @classmethod
    def concat(cls, parts: list[Manifest]) -> Manifest:
        """Concatenate manifests in order (their pack lists are merged)."""
        packs: list[str] = []
        index: dict[str, int] = {}
        ps, ss, cs = [], [], []
        for m in parts:
            remap = np.array([index.setdefault(pid, len(index)) for pid in m.packs] or [0], dtype=np.int32)
            packs = list(index)
            ps.append(remap[m.pack] if len(m.pack) else m.pack)
            ss.append(m.start)
            cs.append(m.count)
        if not ps:
            return cls.empty()
        merged = cls(tuple(packs), np.concatenate(ps).astype(np.int32), np.concatenate(ss), np.concatenate(cs))
        return merged.merged_runs()

    @property
    def row_count(self) -> int:
        """Number of logical rows."""
        return int(self.count.sum())

    @property
    def range_count(self) -> int:
        """Number of ranges (the manifest's size)."""
        return len(self.count)

    def merged_runs(self) -> Manifest:
        """Merge adjacent ranges that continue each other."""
        n = len(self.count)
        if n <= 1:
            return self
        ends = self.start + self.count
        cont = np.zeros(n, dtype=bool)
        cont[1:] = (self.pack[1:] == self.pack[:-1]) & (self.start[1:] == ends[:-1])
        if not cont.any():
            return self
        group = np.cumsum(~cont) - 1
        heads = np.flatnonzero(~cont)
        counts = np.bincount(group, weights=self.count).astype(np.int64)
        return Manifest(self.packs, self.pack[heads], self.start[heads], counts)

    def compacted(self) -> Manifest:
        """Drop pack ids no range uses and renumber."""
        used = np.unique(self.pack) if len(self.pack) else np.empty(0, np.int32)
        if len(used) == len(self.packs):
            return self
        remap = np.full(max(len(self.packs), 1), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        return Manifest(tuple(self.packs[i] for i in used), remap[self.pack], self.start, self.count)

    def locate(self, row_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map logical row ids to (pack index, position).

        Raises:
            InvalidInput: if a row id is outside 0..row_count-1.
        """
        row_ids = np.asarray(row_ids, dtype=np.int64)
        n = self.row_count
        if len(row_ids) and (row_ids.min() < 0 or row_ids.max() >= n):
            bad = row_ids[(row_ids < 0) | (row_ids >= n)][0]
            raise InvalidInput(f"row id {int(bad)} is outside the table (0..{n - 1})", row_id=int(bad))
        ends = np.cumsum(self.count)
        r = np.searchsorted(ends, row_ids, side="right")
        firsts = ends - self.count
        return self.pack[r], self.start[r] + (row_ids - firsts[r])

    def select(self, row_ids: np.ndarray) -> Manifest:
        """The manifest of the given logical rows, in the given order."""
        pack, pos = self.locate(row_ids)
        return Manifest.from_positions(self.packs, pack, pos)

    def window(self, offset: int, limit: int | None) -> Manifest:
        """The manifest of logical rows ``offset .. offset+limit-1`` (clipped), range-wise."""
        n = self.row_count
        lo = min(max(offset, 0), n)
        hi = n if limit is None else min(lo + max(limit, 0), n)
        ends = np.cumsum(self.count)
        firsts = ends - self.count
        keep = (ends > lo) & (firsts < hi)
        f, e = firsts[keep], ends[keep]
        start = self.start[keep] + np.maximum(lo - f, 0)
        count = np.minimum(e, hi) - np.maximum(f, lo)
        return Manifest(self.packs, self.pack[keep], start, count.astype(np.int64)).compacted()

    def to_bytes(self) -> bytes:
        """Serialise as a small zstd Parquet file (pack list in the file metadata)."""
        table = pa.table(
            {
                "pack": pa.array(self.pack, pa.int32()),
                "start": pa.array(self.start, pa.int64()),
                "count": pa.array(self.count, pa.int64()),
            }
        ).replace_schema_metadata({"dsa": json.dumps({"format": _FORMAT, "packs": list(self.packs)})})
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd", use_dictionary=False, write_statistics=False,
                       write_page_checksum=True)
        return sink.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, object_id: str = "?") -> Manifest:
        """Parse a manifest written by :meth:`to_bytes`."""
        try:
            table = pq.ParquetFile(io.BytesIO(data), page_checksum_verification=True).read()
            meta = json.loads(table.schema.metadata[b"dsa"])
            packs = tuple(meta["packs"])
            pack, start, count = (table.column(c).to_numpy().astype(t) for c, t in
                                  (("pack", np.int32), ("start", np.int64), ("count", np.int64)))
        except Exception as e:  # any parse failure means a corrupt object
            raise CorruptObject(f"manifest {object_id} cannot be read: {e}", object_id=object_id, kind="manifests",
                                reason=f"cannot be decoded: {e}") from e
        if meta.get("format") != _FORMAT:
            raise CorruptObject(f"manifest {object_id} has unknown format {meta.get('format')!r}", object_id=object_id,
                                kind="manifests", reason=f"has unknown format {meta.get('format')!r}")
        if len(pack) and (pack.min() < 0 or pack.max() >= len(packs) or start.min() < 0 or count.min() < 0):
            raise CorruptObject(f"manifest {object_id} refers outside its pack list", object_id=object_id,
                                kind="manifests", reason="refers outside its pack list")
        return cls(packs, pack, start, count)
