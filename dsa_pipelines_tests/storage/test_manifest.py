import numpy as np
import pytest

from dsa_pipelines.storage.errors import CorruptObject, InvalidInput
from dsa_pipelines.storage.manifest import Manifest, expand_ranges, run_lengths


def test_expand_ranges_matches_python_reference():
    starts = np.array([5, 0, 100, 7])
    counts = np.array([3, 0, 2, 1])
    expected = [5, 6, 7, 100, 101, 7]
    assert expand_ranges(starts, counts).tolist() == expected


def test_run_lengths_merges_consecutive_positions_per_pack():
    pack = np.array([0, 0, 0, 1, 0, 0])
    pos = np.array([10, 11, 12, 0, 13, 20])
    p, s, c = run_lengths(pack, pos)
    assert p.tolist() == [0, 1, 0, 0]
    assert s.tolist() == [10, 0, 13, 20]
    assert c.tolist() == [3, 1, 1, 1]


def test_one_changed_row_is_three_ranges():
    n = 1_000_000
    pos = np.arange(n)
    pack = np.zeros(n, dtype=np.int32)
    pack[500_000] = 1
    pos[500_000] = 0
    m = Manifest.from_positions(("a", "b"), pack, pos)
    assert m.range_count == 3
    assert m.row_count == n


def test_roundtrip_bytes_and_locate():
    m = Manifest(("p0", "p1"), np.array([1, 0], np.int32), np.array([4, 0], np.int64), np.array([2, 3], np.int64))
    back = Manifest.from_bytes(m.to_bytes())
    assert back.packs == ("p0", "p1")
    pack, pos = back.locate(np.array([0, 1, 2, 4]))
    assert pack.tolist() == [1, 1, 0, 0]
    assert pos.tolist() == [4, 5, 0, 2]
    with pytest.raises(InvalidInput, match="outside the table"):
        back.locate(np.array([5]))


def test_window_clips_ranges():
    m = Manifest(("p",), np.zeros(3, np.int32), np.array([0, 10, 20], np.int64), np.array([5, 5, 5], np.int64))
    w = m.window(3, 5)
    assert expand_ranges(w.start, w.count).tolist() == [3, 4, 10, 11, 12]
    assert m.window(14, None).row_count == 1
    assert m.window(100, 5).row_count == 0


def test_select_reorders_and_drops_unused_packs():
    m = Manifest(("a", "b"), np.array([0, 1], np.int32), np.array([0, 0], np.int64), np.array([3, 3], np.int64))
    s = m.select(np.array([2, 1]))
    assert s.packs == ("a",)
    assert expand_ranges(s.start, s.count).tolist() == [2, 1]


def test_concat_merges_pack_lists_and_runs():
    a = Manifest(("x",), np.array([0], np.int32), np.array([0], np.int64), np.array([5], np.int64))
    b = Manifest(("y", "x"), np.array([1, 0], np.int32), np.array([5, 0], np.int64), np.array([5, 1], np.int64))
    c = Manifest.concat([a, b])
    assert c.packs == ("x", "y")
    assert c.pack.tolist() == [0, 1]
    assert c.count.tolist() == [10, 1]


def test_corrupt_manifest_bytes():
    with pytest.raises(CorruptObject):
        Manifest.from_bytes(b"not parquet", "abc")
