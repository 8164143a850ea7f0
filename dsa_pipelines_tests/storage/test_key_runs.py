"""Sorted key runs: search, merge, the stored format, and the in-upload run stack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dsa_pipelines.storage import CorruptObject
from dsa_pipelines.storage.key_runs import KeyRun, RunStack, merge, read, search, write


def _keys(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64),
            rng.integers(-(2**31), 2**31 - 1, n, dtype=np.int64).astype(np.int32))


def _run(k1: np.ndarray, k2: np.ndarray, packs: tuple[str, ...] = ("p",)) -> KeyRun:
    n = len(k1)
    return KeyRun.from_unsorted(packs, k1, k2, np.zeros(n, np.uint16), np.arange(n, dtype=np.int64))


def test_search_finds_stored_keys_and_only_those():
    k1, k2 = _keys(1000)
    run = _run(k1, k2)
    q1 = np.concatenate([k1[::3], _keys(50, seed=9)[0]])
    q2 = np.concatenate([k2[::3], _keys(50, seed=9)[1]])
    order = np.argsort(q1, kind="stable")
    owner, entry = search(run.k1, run.k2, q1[order], q2[order])
    assert len(owner) == len(k1[::3])
    found_pos = run.pos[entry]
    # each found query's position is where that key was stored
    assert np.array_equal(k1[found_pos], q1[order][owner])


def test_equal_k1_is_told_apart_by_k2_and_a_key_stored_twice_is_reported_once():
    k1 = np.array([5, 5, 5, 7, 7, 9], dtype=np.int64)
    k2 = np.array([1, 2, 3, 4, 4, 1], dtype=np.int32)
    run = KeyRun(("a", "b"), k1, k2, np.array([0, 0, 0, 0, 1, 0]), np.array([10, 11, 12, 13, 20, 14]))
    idx, pack, pos = run.probe(np.array([5, 5, 7, 8, 9], np.int64), np.array([3, 9, 4, 4, 2], np.int32))
    assert idx.tolist() == [0, 2]
    assert pos.tolist() == [12, 13] and pack.tolist() == [0, 0]


def test_merge_unites_pack_lists_and_keeps_every_entry_sorted():
    a1, a2 = _keys(300, seed=1)
    b1, b2 = _keys(200, seed=2)
    merged = merge([_run(a1, a2, ("pa",)), _run(b1, b2, ("pb",))])
    assert merged.packs == ("pa", "pb")
    assert merged.row_count == 500 and np.all(np.diff(merged.k1) >= 0)
    owner, pack, _ = merged.probe(np.sort(b1), b2[np.argsort(b1)])
    assert len(owner) == 200 and set(pack.tolist()) == {1}


def test_a_run_round_trips_through_its_file_with_narrow_types(tmp_path: Path):
    k1, k2 = _keys(1000)
    run = _run(k1, k2)
    write(run, tmp_path / "r.arrow")
    back = read(tmp_path / "r.arrow", "r")
    assert back.packs == ("p",)
    assert back.pack.dtype == np.uint16 and back.pos.dtype == np.int32
    assert np.array_equal(back.k1, run.k1) and np.array_equal(back.pos, run.pos)


def test_an_unreadable_run_is_a_corrupt_object(tmp_path: Path):
    (tmp_path / "bad.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(CorruptObject, match="key index run bad"):
        read(tmp_path / "bad.arrow", "bad")
    with pytest.raises(CorruptObject):
        read(tmp_path / "missing.arrow", "missing")


def test_the_run_stack_finds_every_key_added_across_batches_and_caps_its_runs():
    stack = RunStack(cap=1000)
    k1, k2 = _keys(5000, seed=3)
    for start in range(0, 5000, 250):
        s1, s2 = k1[start:start + 250], k2[start:start + 250]
        order = np.argsort(s1, kind="stable")
        stack.add(s1[order], s2[order], np.arange(start, start + 250)[order])
    order = np.argsort(k1, kind="stable")
    hit, pos = stack.probe(k1[order], k2[order])
    assert len(hit) == 5000 and np.array_equal(pos, order[hit])
    runs = stack.runs("new")
    assert sum(r.row_count for r in runs) == 5000
    assert all(r.packs == ("new",) for r in runs)
    assert len(runs) > 1 and max(r.row_count for r in runs) <= 1000


def test_a_run_of_several_packs_stores_its_pack_ordinals(tmp_path: Path):
    merged = merge([_run(*_keys(100, seed=4), ("pa",)), _run(*_keys(50, seed=5), ("pb",))])
    write(merged, tmp_path / "m.arrow")
    back = read(tmp_path / "m.arrow", "m")
    assert back.packs == ("pa", "pb") and np.array_equal(back.pack, merged.pack)
    assert int((back.pack == 1).sum()) == 50
