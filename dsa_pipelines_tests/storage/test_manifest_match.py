"""Range-wise manifest matching and slicing (no data read)."""

from __future__ import annotations

import numpy as np

from dsa_pipelines.storage.manifest import Manifest
from dsa_pipelines.storage.manifest_match import match_manifests, slice_ranges


def m(packs: tuple[str, ...], *ranges: tuple[int, int, int]) -> Manifest:
    p, s, c = zip(*ranges, strict=True)
    return Manifest(packs, np.array(p, np.int32), np.array(s, np.int64), np.array(c, np.int64))


def expand(manifest: Manifest) -> list[tuple[str, int]]:
    return [(manifest.packs[p], s + i) for p, s, c in zip(manifest.pack, manifest.start, manifest.count)
            for i in range(c)]


def test_one_replaced_row_leaves_two_items():
    a = m(("p",), (0, 0, 10), (0, 10, 5))
    b = m(("p", "q"), (0, 0, 5), (1, 0, 1), (0, 6, 9))
    got = match_manifests(a, b)
    assert got.a_rows.tolist() == [5] and got.b_rows.tolist() == [5]
    assert (got.a_start.tolist(), got.b_start.tolist(), got.length.tolist()) == ([0, 6], [0, 6], [5, 9])
    assert got.map_a(np.array([0, 5, 14])).tolist() == [0, -1, 14]


def test_moved_stretch_matches_and_duplicates_count():
    a = m(("p",), (0, 0, 4), (0, 4, 4))
    b = m(("p",), (0, 4, 4), (0, 0, 4))
    assert match_manifests(a, b).matched_rows == 8
    three = m(("p",), (0, 0, 1), (0, 0, 1), (0, 0, 1))
    one = m(("p",), (0, 0, 1))
    got = match_manifests(three, one)
    assert got.a_rows.tolist() == [1, 2] and got.matched_rows == 1


def test_slice_ranges_is_select_by_ranges():
    a = m(("p", "q"), (0, 0, 10), (1, 3, 5), (0, 20, 4))
    got = slice_ranges(a, np.array([8, 0, 12]), np.array([4, 2, 6]))
    rows = np.concatenate([np.arange(8, 12), np.arange(0, 2), np.arange(12, 18)])
    assert expand(got) == expand(a.select(rows))
