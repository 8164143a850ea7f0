"""Matching two manifests range-wise: which stretches of rows are the same stored rows.

Two manifests (a base ``a`` and a target ``b``) are cut at every range boundary either
of them has, per pack, into elementary pieces. A piece referenced ``m`` times in ``a``
and ``n`` times in ``b`` is unchanged ``min(m, n)`` times — in any position, so moved
stretches still match — and the rest are rows to read. Everything is numpy over ranges:
a one-row change of a million-row table touches a handful of ranges and no data.

The matched stretches ("items") also locate rows between the two sides: which target
row a base row became, and which unchanged neighbours surround an unmatched row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .manifest import Manifest, expand_ranges

_POS_BITS = 40  # positions within a pack are < 2**40


@dataclass(frozen=True)
class Matching:
    """Unchanged stretches between two row sequences, plus the rows outside them.

    Attributes:
        a_start: Per item, its first logical row in ``a`` (items sorted by it).
        b_start: Per item, its first logical row in ``b``.
        length: Per item, its number of rows.
        a_rows: Logical rows of ``a`` in no item (sorted).
        b_rows: Logical rows of ``b`` in no item (sorted).
    """

    a_start: np.ndarray
    b_start: np.ndarray
    length: np.ndarray
    a_rows: np.ndarray
    b_rows: np.ndarray

    @property
    def matched_rows(self) -> int:
        """Rows in items (unchanged)."""
        return int(self.length.sum())

    def with_pairs(self, a_rows: np.ndarray, b_rows: np.ndarray) -> Matching:
        """Add single-row items (rows found equal after reading) and drop them from the unmatched rows."""
        a_rows, b_rows = np.asarray(a_rows, np.int64), np.asarray(b_rows, np.int64)
        if not len(a_rows):
            return self
        return _items(np.concatenate([self.a_start, a_rows]), np.concatenate([self.b_start, b_rows]),
                      np.concatenate([self.length, np.ones(len(a_rows), np.int64)]),
                      np.setdiff1d(self.a_rows, a_rows), np.setdiff1d(self.b_rows, b_rows))

    def map_a(self, rows: np.ndarray) -> np.ndarray:
        """The ``b`` row each ``a`` row became (-1 where the row is in no item)."""
        rows = np.asarray(rows, np.int64)
        if not len(self.a_start):
            return np.full(len(rows), -1, np.int64)
        i = np.searchsorted(self.a_start, rows, side="right") - 1
        ic = np.where(i >= 0, i, 0)
        inside = (i >= 0) & (rows < self.a_start[ic] + self.length[ic])
        return np.where(inside, self.b_start[ic] + rows - self.a_start[ic], -1)

    def insert_after_a(self, rows: np.ndarray) -> np.ndarray:
        """For ``a`` positions, the ``b`` row after which something placed there goes (-1: the start).

        A position inside an item maps to its ``b`` row; one in a gap maps to the last
        ``b`` row of the item before it.
        """
        rows = np.asarray(rows, np.int64)
        if not len(self.a_start):
            return np.full(len(rows), -1, np.int64)
        i = np.searchsorted(self.a_start, rows, side="right") - 1
        ic = np.where(i >= 0, i, 0)
        inside = rows < self.a_start[ic] + self.length[ic]
        after = np.where(inside, self.b_start[ic] + rows - self.a_start[ic],
                         self.b_start[ic] + self.length[ic] - 1)
        return np.where(i >= 0, after, -1)

    def gaps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The unchanged neighbours of every unmatched row, as item numbers (-1: none before, -2: none after).

        Returns:
            (prev, next) item of each ``a_rows`` row, then (prev, next) of each ``b_rows`` row.
        """
        a_prev, a_next = _neighbours(self.a_start, self.a_rows, np.arange(len(self.a_start)))
        order = np.argsort(self.b_start, kind="stable")
        b_prev, b_next = _neighbours(self.b_start[order], self.b_rows, order)
        return a_prev, a_next, b_prev, b_next


def _neighbours(starts: np.ndarray, rows: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i = np.searchsorted(starts, rows, side="right") - 1
    n = len(starts)
    prev = np.where(i >= 0, ids[np.clip(i, 0, max(n - 1, 0))] if n else -1, -1)
    nxt = np.where(i + 1 < n, ids[np.clip(i + 1, 0, max(n - 1, 0))] if n else -2, -2)
    return prev.astype(np.int64), nxt.astype(np.int64)


def _items(a_start: np.ndarray, b_start: np.ndarray, length: np.ndarray, a_rows: np.ndarray,
           b_rows: np.ndarray) -> Matching:
    """Sort items by ``a_start`` and merge those that continue each other on both sides."""
    order = np.argsort(a_start, kind="stable")
    a_start, b_start, length = a_start[order], b_start[order], length[order]
    if len(a_start) > 1:
        cont = np.zeros(len(a_start), bool)
        cont[1:] = (a_start[1:] == a_start[:-1] + length[:-1]) & (b_start[1:] == b_start[:-1] + length[:-1])
        heads = np.flatnonzero(~cont)
        group = np.cumsum(~cont) - 1
        length = np.bincount(group, weights=length).astype(np.int64)
        a_start, b_start = a_start[heads], b_start[heads]
    return Matching(a_start.astype(np.int64), b_start.astype(np.int64), length.astype(np.int64),
                    np.asarray(a_rows, np.int64), np.asarray(b_rows, np.int64))


def _global_ranges(m: Manifest, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per range: global key of its first row, of its end, and its first logical row."""
    ids = np.array([index.setdefault(p, len(index)) for p in m.packs] or [0], dtype=np.int64)
    base = ids[m.pack] << _POS_BITS if len(m.pack) else np.empty(0, np.int64)
    first = np.cumsum(m.count) - m.count
    return base + m.start, base + m.start + m.count, first.astype(np.int64)


def _pieces(s: np.ndarray, e: np.ndarray, first: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cut ranges [s, e) at ``cuts``: per piece its global start, length and first logical row."""
    lo = np.searchsorted(cuts, s, side="right")
    hi = np.searchsorted(cuts, e, side="left")
    n = hi - lo + 1
    owner = np.repeat(np.arange(len(s)), n)
    off = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    top = max(len(cuts) - 1, 0)
    start = np.where(off == 0, s[owner], cuts[np.clip(lo[owner] + off - 1, 0, top)])
    end = np.where(off == n[owner] - 1, e[owner], cuts[np.clip(lo[owner] + off, 0, top)])
    return start, end - start, first[owner] + (start - s[owner])


def _rank(keys: np.ndarray, logical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by (key, logical row) and the rank of each entry among equal keys."""
    order = np.lexsort((logical, keys))
    k = keys[order]
    head = np.ones(len(k), bool)
    head[1:] = k[1:] != k[:-1]
    group_first = np.maximum.accumulate(np.where(head, np.arange(len(k)), 0))
    rank = np.empty(len(k), np.int64)
    rank[order] = np.arange(len(k)) - group_first
    return order, rank


def match_manifests(a: Manifest, b: Manifest) -> Matching:
    """Match the rows two manifests share, without reading any data.

    Args:
        a: The base manifest.
        b: The target manifest.

    Returns:
        The unchanged stretches and the rows of each side outside them.
    """
    index: dict[str, int] = {}
    sa_, ea, fa = _global_ranges(a, index)
    sb, eb, fb = _global_ranges(b, index)
    cuts = np.unique(np.concatenate([sa_, ea, sb, eb]))
    pa_s, pa_n, pa_f = _pieces(sa_, ea, fa, cuts)
    pb_s, pb_n, pb_f = _pieces(sb, eb, fb, cuts)
    order_a, rank_a = _rank(pa_s, pa_f)
    order_b, rank_b = _rank(pb_s, pb_f)
    keys_b, count_b = np.unique(pb_s, return_counts=True)
    keys_a, count_a = np.unique(pa_s, return_counts=True)
    match_a = rank_a < _lookup(keys_b, count_b, pa_s)
    match_b = rank_b < _lookup(keys_a, count_a, pb_s)
    # matched pieces in (key, rank) order pair one to one across the sides
    ma = order_a[match_a[order_a]]
    mb = order_b[match_b[order_b]]
    a_rows = expand_ranges(pa_f[~match_a], pa_n[~match_a])
    b_rows = expand_ranges(pb_f[~match_b], pb_n[~match_b])
    return _items(pa_f[ma], pb_f[mb], pa_n[ma], np.sort(a_rows), np.sort(b_rows))


def _lookup(keys: np.ndarray, counts: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    if not len(keys):
        return np.zeros(len(wanted), np.int64)
    i = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
    return np.where(keys[i] == wanted, counts[i], 0)


def slice_ranges(m: Manifest, starts: np.ndarray, counts: np.ndarray) -> Manifest:
    """The manifest of logical row ranges ``[start, start+count)`` of ``m``, concatenated in order.

    Range-wise (never per row): cost follows the number of ranges.
    """
    starts, counts = np.asarray(starts, np.int64), np.asarray(counts, np.int64)
    keep = counts > 0
    starts, counts = starts[keep], counts[keep]
    if not len(starts):
        return Manifest.empty()
    ends = np.cumsum(m.count)
    firsts = ends - m.count
    lo = np.searchsorted(ends, starts, side="right")
    hi = np.searchsorted(firsts, starts + counts, side="left")
    n = hi - lo
    j = np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    qs, qe = np.repeat(starts, n), np.repeat(starts + counts, n)
    lo_row = np.maximum(qs, firsts[j])
    count = np.minimum(qe, ends[j]) - lo_row
    sliced = Manifest(m.packs, m.pack[j], m.start[j] + lo_row - firsts[j], count.astype(np.int64))
    return sliced.merged_runs().compacted()
