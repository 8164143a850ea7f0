"""GC under fire: writer processes commit and delete branches while GC runs again and again; and
GC killed with SIGKILL at random points. Afterwards the store is intact and every published,
still-reachable commit reads back exactly."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import shutil
import signal
import time
import traceback
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from dsa_pipelines.storage import ObjectCollected, RefConflict, Store
from dsa_pipelines.storage.catalog.gc_schema import gc_runs
from dsa_pipelines_tests.storage.gc_helpers import NOW, rows

STRESS = os.environ.get("DSA_GC_STRESS", "") == "1"  # `make stress`: a larger setting
WRITERS = 4 if STRESS else 3
ROUNDS = 30 if STRESS else 6
GRACE = timedelta(seconds=2)  # longer than a small upload takes from ingest to commit
CRASH_TRIALS = 100 if STRESS else 20


def _frame(writer: int, i: int):
    """Overlapping row ranges, so uploads reuse rows of commits that died meanwhile."""
    lo = (writer * 7 + i * 37) % 400
    return rows(lo, lo + 120 + 10 * i)


def _writer(root: str, url: str, writer: int, barrier, results) -> None:
    store = Store.open(root, url)
    published, errors = [], []
    try:
        barrier.wait(timeout=60)
        branch = f"w{writer}"
        for i in range(ROUNDS):
            try:
                res = store.commit("ds", _frame(writer, i), table="t", branch=branch, message=f"{writer}/{i}")
                published.append((res.commit_id, writer, i))
                if i % 3 == 1:  # drop the branch: its commits become garbage
                    store.delete_branch("ds", branch)
                    store.create_branch("ds", branch, "main")
            except (RefConflict, ObjectCollected) as e:  # clean, retryable outcomes
                errors.append(("retryable", repr(e)))
    except Exception as e:  # noqa: BLE001 — reported to the test, with where it came from
        errors.append(("error", repr(e), traceback.format_exc()))
    finally:
        store.close()
        results.put((writer, published, errors))


def _reachable(store: Store) -> set[str]:
    out: set[str] = set()
    for b in store.branches("ds"):
        out.update(e.commit.id for e in store.log("ds", b.name))
    return out


def test_writers_and_repeated_gc(tmp_path: Path, shared_catalog_url: str) -> None:
    root = str(tmp_path / "store")
    with Store.open(root, shared_catalog_url) as store:
        store.create_dataset("ds")
        for w in range(WRITERS):
            store.create_branch("ds", f"w{w}")
        store.create_branch("ds", "old")  # garbage the writers' uploads overlap: they reuse rows GC condemns
        for lo in (0, 250, 500):
            store.commit("ds", rows(lo, lo + 250), table="t", branch="old")
        store.delete_branch("ds", "old")
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(WRITERS + 1), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(root, shared_catalog_url, w, barrier, results))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    reports = []
    with Store.open(root, shared_catalog_url) as store:
        barrier.wait(timeout=120)
        while any(p.is_alive() for p in procs) and results.qsize() < WRITERS:
            reports.append(store.gc(grace=GRACE, reflog_retention=NOW))
        outcomes = [results.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        time.sleep(GRACE.total_seconds())
        reports.append(store.gc(grace=GRACE, reflog_retention=NOW))
        assert not [e for _, _, errs in outcomes for e in errs if e[0] == "error"], outcomes
        published = [c for _, pub, _ in outcomes for c in pub]
        assert published and len(reports) >= 2
        assert sum(r.commits_removed for r in reports) > 0
        fsck = store.fsck(deep=True)
        assert fsck.ok, fsck.problems
        reachable = _reachable(store)
        checked = 0
        for cid, writer, i in published:
            if cid in reachable:
                assert store.read_table("ds", cid, "t").table.equals(_frame(writer, i))
                checked += 1
        assert checked > 0


# ------------------------------------------------------------------------------------- crash


def _template(path: Path) -> dict[str, object]:
    """A store with garbage in every phase's path: dead branches, a sparse pack, staged commits."""
    with Store.open(path) as store:
        store.create_dataset("ds")
        expected = {"main": store.commit("ds", rows(0, 800), table="t").commit_id}
        for b in range(4):
            store.create_branch("ds", f"tmp{b}")
            store.commit("ds", rows(2000 + 300 * b, 2300 + 300 * b), table="t", branch=f"tmp{b}")
            store.delete_branch("ds", f"tmp{b}")
        store.commit("ds", rows(9000, 9100), table="t", publish=False)
        expected["sparse"] = store.commit("ds", rows(100, 150), table="t").commit_id
        expected["tag"] = store.create_tag("ds", "v1", expected["main"]).commit_id
    return expected


def _gc_child(root: str, ready) -> None:
    store = Store.open(root)
    ready.set()
    store.gc(grace=NOW, reflog_retention=NOW)
    store.close()


def _check(root: Path, expected: dict[str, object]) -> None:
    with Store.open(root) as store:
        report = store.fsck(deep=True)
        assert report.ok, report.problems  # garbage may remain; nothing is broken
        store.gc(grace=NOW, reflog_retention=NOW)  # the next run finishes the job
        again = store.gc(grace=NOW, reflog_retention=NOW)
        assert again.commits_removed == 0 and again.packs_removed == 0 and again.manifests_removed == 0
        assert store.fsck(deep=True).counts.get("garbage_objects", 0) <= again.packs_compacted * 2
        assert store.read_table("ds", expected["sparse"]).table.equals(rows(100, 150))
        assert store.read_table("ds", expected["main"]).table.equals(rows(0, 800))
        assert store.read_table("ds", "v1").table.equals(rows(0, 800))
        assert len(store.log("ds")) == 3
        with store.catalog.engine.connect() as conn:
            statuses = {r.status for r in conn.execute(sa.select(gc_runs.c.status))}
        assert "running" not in statuses and "succeeded" in statuses


def test_gc_killed_at_random_points(tmp_path: Path) -> None:
    template = tmp_path / "template"
    expected = _template(template)
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    t0 = time.perf_counter()
    with Store.open(probe) as store:
        store.gc(grace=NOW, reflog_retention=NOW)
    duration = time.perf_counter() - t0
    ctx = mp.get_context("fork")
    rng = random.Random(7)
    killed_mid_run = 0
    for trial in range(CRASH_TRIALS):
        root = tmp_path / f"trial{trial}"
        shutil.copytree(template, root)
        ready = ctx.Event()
        child = ctx.Process(target=_gc_child, args=(str(root), ready))
        child.start()
        assert ready.wait(timeout=60)
        time.sleep(rng.uniform(0, duration * 1.2))
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
            killed_mid_run += 1
        child.join(timeout=30)
        _check(root, expected)
        shutil.rmtree(root)
    assert killed_mid_run >= CRASH_TRIALS // 2
