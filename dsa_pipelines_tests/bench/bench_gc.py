"""GC and fsck benchmark: a store with 50 versions of the workload plus 20 deleted branches.

Measures GC seconds, bytes freed against an exact count of the bytes only dead commits
reference, GC's peak RSS (in a fresh process), and fsck / fsck --deep seconds per million
stored rows.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsa_pipelines.storage import Store
from dsa_pipelines_tests.bench.datagen import VERSIONS, make_versions

VERSIONS_KEPT = 50
DEAD_BRANCHES = 20
NOW = timedelta(0)


def _object_bytes(store: Store, kind: str, ids: set[str]) -> int:
    return sum(store.objects.path(kind, i).stat().st_size for i in ids if store.objects.exists(kind, i))


def _referenced(store: Store, dataset: str, commits: list[str]) -> tuple[set[str], set[str]]:
    manifests, packs = set(), set()
    for cid in commits:
        for t in store.get_commit(dataset, cid).tables.values():
            manifests.add(t.manifest_id)
            packs.update(store.manifest(dataset, cid, t.name).packs)
    return manifests, packs


def _gc_child(root: str, out) -> None:
    with Store.open(root) as store:
        t0 = time.perf_counter()
        report = store.gc(grace=NOW, reflog_retention=NOW)
        out.put((time.perf_counter() - t0, report.to_dict(),
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))


def _tweak(table: pa.Table, branch: int) -> pa.Table:
    """1% of the rows changed in one column: rows only this branch stores."""
    n = table.num_rows
    step = 100
    amount = table.column("amount")
    mask = pa.array([(i % step) == branch % step for i in range(n)])
    changed = pc.if_else(mask, pc.add(pc.fill_null(amount, 0), branch + 0.5), amount)
    return table.set_column(table.schema.get_field_index("amount"), "amount", changed)


def build(store: Store, paths: dict, versions: int, branches: int) -> tuple[list[str], list[str]]:
    """Commit ``versions`` versions on main (cycling v1..v6) and ``branches`` deleted branches."""
    store.create_dataset("bench")
    live = []
    for i in range(versions):
        v = VERSIONS[i % len(VERSIONS)]
        live.append(store.commit("bench", paths[v]["parquet"], table="tx", message=f"{i}: {v}").commit_id)
    base = pq.read_table(paths["v1"]["parquet"])
    dead = []
    for b in range(branches):
        store.create_branch("bench", f"dead{b}")
        dead.append(store.commit("bench", _tweak(base, b), table="tx", branch=f"dead{b}").commit_id)
        store.delete_branch("bench", f"dead{b}")
    return live, dead


def run(n_rows: int = 1_000_000, versions: int = VERSIONS_KEPT, branches: int = DEAD_BRANCHES,
        data_dir: str | Path | None = None) -> list[dict]:
    """Build the store, then measure GC and fsck; returns bench rows ``{name, value, target, ok}``."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_versions(n_rows, Path(data_dir or tmp) / "data", formats=("parquet",))
        root = Path(tmp) / "store"
        with Store.open(root) as store:
            _, dead = build(store, paths, versions, branches)
            live_m, live_p = _referenced(store, "bench", [e.commit.id for e in store.log("bench")])
            dead_m, dead_p = _referenced(store, "bench", dead)
            exact = _object_bytes(store, "manifests", dead_m - live_m) + _object_bytes(store, "packs", dead_p - live_p)
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=_gc_child, args=(str(root), out))
        child.start()
        seconds, report, rss = out.get(timeout=3600)
        child.join()
        with Store.open(root) as store:
            t0 = time.perf_counter()
            shallow = store.fsck()
            fsck_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            deep = store.fsck(deep=True)
            deep_s = time.perf_counter() - t0
        stored = max(deep.counts.get("stored_rows", 0), 1) / 1e6
    freed = report["bytes_freed"]
    return [
        {"name": f"gc: {versions} versions + {branches} deleted branches ({n_rows:,} rows)",
         "value": f"{seconds:.2f} s, {report['commits_removed']} commits, {report['packs_removed']} packs removed",
         "target": "-", "ok": report["commits_removed"] == branches},
        {"name": "gc bytes freed vs exact unreachable", "value": f"{freed / 1e6:.2f} MB vs {exact / 1e6:.2f} MB",
         "target": "equal", "ok": freed == exact},
        {"name": "gc peak RSS", "value": f"{rss / 1e6:.0f} MB", "target": "<= 1000 MB", "ok": rss <= 1e9},
        {"name": "fsck per million stored rows", "value": f"{fsck_s / stored:.2f} s ({fsck_s:.2f} s total)",
         "target": "-", "ok": shallow.ok},
        {"name": "fsck --deep per million stored rows", "value": f"{deep_s / stored:.2f} s ({deep_s:.2f} s total)",
         "target": "<= 2 s", "ok": deep.ok and deep_s / stored <= 2.0},
    ]


if __name__ == "__main__":
    from dsa_pipelines_tests.bench.bench_store import print_table

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print_table(run(n), f"gc ({n:,} rows)")
