"""The persistent key index: one run per new pack, tiered merges, backfill, GC hooks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from dsa_pipelines.storage import Store, hashing, ingest, key_index
from dsa_pipelines.storage.catalog.key_index_schema import (
    key_index_run_packs,
    key_index_runs,
)
from dsa_pipelines.storage.catalog.schema import packs
from dsa_pipelines.storage.key_runs import KIND, SUFFIX, RunStack
from dsa_pipelines.storage.objects import forget_verified


def _frame(start: int, n: int) -> pd.DataFrame:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pd.DataFrame({"id": ids, "v": [f"r{i}" for i in ids]})


def _fp(store: Store, dataset: str = "k", table: str = "t") -> str:
    return hashing.schema_id(hashing.logical_schema(store.table_info(dataset, "main", table).schema))


def _covered(store: Store) -> tuple[set[str], set[str]]:
    with store.catalog.read() as c:
        all_packs = {r.id for r in c.execute(sa.select(packs.c.id))}
        covered = {r.pack_id for r in c.execute(sa.select(key_index_run_packs.c.pack_id))}
    return all_packs, covered


def test_every_new_pack_is_covered_by_a_live_run_stored_as_an_object(store: Store):
    store.create_dataset("k")
    store.commit("k", _frame(0, 100), table="t")
    store.commit("k", _frame(50, 100), table="t")
    all_packs, covered = _covered(store)
    assert len(all_packs) == 2 and all_packs == covered
    run_ids = key_index.live_run_ids(store.catalog)
    assert run_ids and all(store.objects.exists(KIND, r, SUFFIX) for r in run_ids)
    assert store.live_index_runs() == run_ids


def test_rows_are_found_through_the_index_after_many_commits(store: Store):
    store.create_dataset("k")
    for i in range(12):
        store.commit("k", _frame(i * 10, 10), table="t")
    res = store.commit("k", _frame(0, 130), table="t")
    t = res.tables["t"]
    assert (t.reused_rows, t.stored_rows) == (120, 10)
    assert store.read_table("k").table.column("id").to_pylist() == list(range(130))


def test_runs_of_one_tier_are_merged_so_their_number_stays_logarithmic(store: Store):
    store.create_dataset("k")
    for i in range(20):
        store.commit("k", _frame(i * 10, 10), table="t")
    runs = key_index.live_runs(store.catalog, _fp(store))
    assert len(runs) < key_index.MERGE_FANOUT * 2  # 20 packs, 4-way tiered merges
    assert sum(r.row_count for r in runs) == 200
    all_packs, covered = _covered(store)
    assert all_packs == covered


def test_compact_merges_every_run_into_one_and_dedup_still_works(store: Store):
    store.create_dataset("k")
    for i in range(6):
        store.commit("k", _frame(i * 10, 10), table="t")
    assert store.compact_key_index() >= 1
    runs = key_index.live_runs(store.catalog, _fp(store))
    assert len(runs) == 1 and runs[0].row_count == 60
    again = store.commit("k", _frame(0, 60), table="t", message="same rows, one upload")
    assert again.tables["t"].stored_rows == 0


def test_a_store_without_index_runs_is_indexed_on_the_next_commit(store: Store):
    """Packs written before the index existed (or whose runs were dropped) are backfilled."""
    store.create_dataset("k")
    store.commit("k", _frame(0, 40), table="t")
    store.commit("k", _frame(40, 40), table="t")
    with store.catalog.write() as c:
        c.execute(key_index_run_packs.delete())
        c.execute(key_index_runs.delete())
    res = store.commit("k", _frame(0, 90), table="t")
    assert (res.tables["t"].reused_rows, res.tables["t"].stored_rows) == (80, 10)
    all_packs, covered = _covered(store)
    assert all_packs == covered


def test_forgetting_a_pack_drops_its_runs_and_its_neighbours_are_indexed_again(store: Store):
    store.create_dataset("k")
    for i in range(4):
        store.commit("k", _frame(i * 10, 10), table="t")  # the fourth commit merges four runs into one
    all_packs, _ = _covered(store)
    victim = min(all_packs)
    with store.catalog.write() as c:
        assert len(key_index.forget_packs(c, [victim])) >= 1
    _, covered = _covered(store)
    assert victim not in covered
    res = store.commit("k", _frame(0, 40), table="t")
    assert res.tables["t"].stored_rows == 0
    assert _covered(store)[1] == all_packs


def test_a_merge_that_lost_the_race_changes_nothing(store: Store):
    store.create_dataset("k")
    for i in range(3):
        store.commit("k", _frame(i * 10, 10), table="t")
    fp = _fp(store)
    runs = key_index.live_runs(store.catalog, fp)
    assert key_index._merge(store.objects, store.catalog, fp, runs)
    merged = key_index.live_runs(store.catalog, fp)
    assert len(merged) == 1
    assert not key_index._merge(store.objects, store.catalog, fp, runs)  # its inputs are gone
    assert key_index.live_runs(store.catalog, fp) == merged


def test_repeats_far_apart_in_one_upload_are_stored_once(store: Store, monkeypatch: pytest.MonkeyPatch):
    """Across many hash groups and a capped in-upload run stack."""
    monkeypatch.setattr(ingest, "HASH_ROWS", 64)
    monkeypatch.setattr("dsa_pipelines.storage.readers.frame.BATCH_ROWS", 32)
    monkeypatch.setattr(ingest, "RunStack", lambda: RunStack(cap=100))
    store.create_dataset("k")
    frame = pd.concat([_frame(0, 500), _frame(7, 1), _frame(100, 300)], ignore_index=True)
    res = store.commit("k", frame, table="t")
    assert (res.tables["t"].rows, res.tables["t"].stored_rows) == (801, 500)
    assert store.read_table("k").table.column("id").to_pylist() == frame["id"].tolist()
    assert store.manifest("k").range_count == 3
    # five capped runs of the one pack, merged at commit time: every key once
    assert [r.row_count for r in key_index.live_runs(store.catalog, _fp(store))] == [500]


def test_a_run_deleted_behind_the_catalogs_back_is_dropped_and_its_packs_indexed_again(store: Store):
    store.create_dataset("k")
    store.commit("k", _frame(0, 50), table="t")
    for run_id in store.live_index_runs():
        store.objects.delete(KIND, run_id, SUFFIX)
    res = store.commit("k", _frame(0, 60), table="t")
    assert (res.tables["t"].reused_rows, res.tables["t"].stored_rows) == (50, 10)
    assert all(store.objects.exists(KIND, r, SUFFIX) for r in store.live_index_runs())
    all_packs, covered = _covered(store)
    assert all_packs == covered


def test_a_damaged_run_is_never_trusted(store: Store):
    """A flipped byte anywhere in a run (a key, a position, the footer) must not make a commit point at the
    wrong rows: the run is checked against its id once per process, dropped and rebuilt from its packs."""
    store.create_dataset("k")
    store.commit("k", _frame(0, 200), table="t")
    for i, fraction in enumerate((0.1, 0.3, 0.5, 0.7, 0.85, 0.95)):
        [run_id] = store.live_index_runs()
        path = store.objects.path(KIND, run_id, SUFFIX)
        data = bytearray(path.read_bytes())
        data[int(len(data) * fraction)] ^= 0x5A
        path.write_bytes(bytes(data))
        forget_verified()  # as a new process would
        name = f"copy{i}"
        store.create_dataset(name)
        res = store.commit(name, _frame(0, 200), table="t")
        assert store.read_table(name, "main").table.to_pandas().equals(_frame(0, 200))
        assert res.tables["t"].rows == 200
    assert store.fsck(deep=True).ok
