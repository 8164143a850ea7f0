"""Concurrent writers: separate processes commit to one branch at the same moment."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from dsa_pipelines.storage import RefConflict, Store
from dsa_pipelines_tests.storage.helpers import people

WRITERS = 4


def _writer(root: str, url: str, seed: int, barrier, results) -> None:  # noqa: ANN001
    store = Store.open(root, url)
    try:
        frame = people(200, seed=seed)
        barrier.wait(timeout=60)
        res = store.commit("race", frame, table="t", message=f"writer {seed}", author=f"w{seed}")
        results.put(("ok", seed, res.commit_id, res.attempts))
    except RefConflict as e:  # a clean, retryable outcome is acceptable; a lost commit is not
        results.put(("conflict", seed, str(e), 0))
    except Exception as e:  # noqa: BLE001 — report anything else to the test
        results.put(("error", seed, repr(e), 0))
    finally:
        store.close()


def test_concurrent_commits_all_land_in_history(tmp_path: Path, shared_catalog_url: str):
    root = str(tmp_path / "store")
    with Store.open(root, shared_catalog_url) as store:
        store.create_dataset("race")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(root, shared_catalog_url, seed, barrier, results))
             for seed in range(WRITERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert not [o for o in outcomes if o[0] == "error"], outcomes
    landed = {o[2] for o in outcomes if o[0] == "ok"}
    assert landed, outcomes
    with Store.open(root, shared_catalog_url) as store:
        history = store.log("race")
        ids = [e.commit.id for e in history]
        # every commit that reported success is on main's first-parent history: none lost
        assert landed <= set(ids)
        assert len(history) == 1 + len(landed)
        # the branch never points at a half-written commit: every version reads back whole
        for entry in history[:-1]:
            assert store.read_table("race", entry.commit.id).table.num_rows == 200
        assert len(store.reflog("race", "main")) == 1 + len(landed)


def test_lost_race_rebuilds_on_the_new_head_keeping_other_tables(store: Store):
    """Deterministic version of the race: another writer moves the branch between our
    read of the head and our compare-and-swap; the commit is re-parented and keeps the
    tables the other writer added."""
    store.create_dataset("r")
    store.commit("r", people(5), table="base")
    interloper_done = []
    original = store.get_commit

    def get_commit_then_interfere(dataset, revision=None):  # noqa: ANN001, ANN202
        commit = original(dataset, revision)
        if not interloper_done:
            interloper_done.append(None)
            interloper_done[0] = store.commit("r", people(3, seed=4), table="theirs").commit_id
        return commit

    store.get_commit = get_commit_then_interfere
    res = store.commit("r", people(4, seed=5), table="ours")
    store.get_commit = original
    assert res.attempts == 2
    assert res.parents == (interloper_done[0],)
    assert sorted(t.name for t in store.list_tables("r")) == ["base", "ours", "theirs"]
