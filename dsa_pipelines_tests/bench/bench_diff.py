"""Diff / merge / edit benchmark on the generated v1..v6 workload.

Measured in a child process (so its peak RSS is its own), medians of ``repeat`` calls:

- diff v5→v6 (one row changed, declared key ``id``): time and rows read;
- diff v1→v2 (1% scattered updates), keyed by ``id`` and keyless;
- a three-way merge of two branches that each update 1% of v1's rows (disjoint): time
  and bytes added to the store;
- an edit of 100 rows: time and bytes added;
- for reference, a generic diff: both versions read and full-outer-joined on ``id`` in DuckDB.

Run ``python -m dsa_pipelines_tests.bench.bench_diff --rows 1000000`` (or via ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from dsa_pipelines.storage import Store
from dsa_pipelines_tests.bench.datagen import VERSIONS, make_versions

REPEAT = 3


def _objects_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "objects").rglob("*") if p.is_file())


def _median(fn, repeat: int = REPEAT) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _generic_diff(a: Path, b: Path) -> int:
    con = duckdb.connect()
    cols = [c for c in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(a)]).fetchnumpy()["column_name"]
            if c != "id"]
    differs = " OR ".join(f'a."{c}" IS DISTINCT FROM b."{c}"' for c in cols)
    sql = ("SELECT count(*) FROM read_parquet(?) a FULL OUTER JOIN read_parquet(?) b USING (id) "
           f"WHERE a.id IS NULL OR b.id IS NULL OR {differs}")
    return con.execute(sql, [str(a), str(b)]).fetchone()[0]


def measure(n_rows: int, data_dir: Path, root: Path) -> dict:
    """Build the store (v1..v6, two branches) and take every measurement; returns raw figures."""
    versions = make_versions(n_rows, data_dir, formats=("parquet",))
    out: dict = {"rows": n_rows}
    with Store.open(root) as store:
        store.create_dataset("bench")
        tags = {v: store.commit("bench", {"t": versions[v]["parquet"]}, message=v).commit_id for v in VERSIONS}
        store.set_table_key("bench", "t", ["id"])
        out["diff_v5_v6"], d = _median(lambda: store.diff("bench", tags["v5"], tags["v6"]))
        out["diff_v5_v6_rows_read"] = d.tables["t"].rows_read
        out["diff_v5_v6_changed"] = d.tables["t"].changed
        out["diff_v1_v2_keyed"], d = _median(lambda: store.diff("bench", tags["v1"], tags["v2"], key=["id"]))
        out["diff_v1_v2_changed"] = d.tables["t"].changed
        changed_ids = np.asarray(d.tables["t"].rows().column("id").to_numpy(), np.int64)
        out["diff_v1_v2_keyless"], d = _median(lambda: store.diff("bench", tags["v1"], tags["v2"], key=[]))
        out["diff_v1_v2_keyless_changed"] = d.tables["t"].changed
        out["generic_diff"], out["generic_diff_rows"] = _median(
            lambda: _generic_diff(versions["v1"]["parquet"], versions["v2"]["parquet"]))
        # two branches from v1, each updating 1% of the rows (disjoint sets)
        store.create_branch("bench", "theirs", tags["v1"])
        store.create_branch("bench", "ours", tags["v1"])
        store.commit("bench", {"t": versions["v2"]["parquet"]}, branch="theirs", message="theirs: v2")
        free = np.setdiff1d(np.arange(n_rows, dtype=np.int64), changed_ids)
        mine = np.random.default_rng(7).choice(free, max(n_rows // 100, 1), replace=False)
        store.edit("bench", "ours", update={int(i): {"note": "ours"} for i in mine}, message="ours: 1%")
        before = _objects_bytes(root)
        t0 = time.perf_counter()
        res = store.merge("bench", "theirs", "ours")
        out["merge"] = time.perf_counter() - t0
        out["merge_status"] = res.status
        out["merge_bytes"] = _objects_bytes(root) - before
        # edits of 100 rows (a fresh set each time)
        rng = np.random.default_rng(11)
        present = store.read_table("bench", "main", "t", columns=["id"]).table.column("id").to_numpy()
        before = _objects_bytes(root)
        times = []
        for i in range(REPEAT):
            ids = rng.choice(present, 100, replace=False)
            t0 = time.perf_counter()
            store.edit("bench", "main", update={int(k): {"note": f"edit {i}"} for k in ids}, message=f"edit {i}")
            times.append(time.perf_counter() - t0)
        out["edit_100"] = statistics.median(times)
        out["edit_bytes"] = (_objects_bytes(root) - before) / REPEAT
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _v1_bytes(data_dir: Path, n_rows: int) -> int:
    with tempfile.TemporaryDirectory() as tmp, Store.open(tmp) as store:
        store.create_dataset("size")
        store.commit("size", {"t": make_versions(n_rows, data_dir, formats=("parquet",))["v1"]["parquet"]})
        return _objects_bytes(Path(tmp))


def run(n_rows: int = 1_000_000, data_dir: Path | None = None) -> list[dict]:
    """Run the benchmark in a child process; returns result rows (name, value, target, ok)."""
    data_dir = Path(data_dir or "data/bench") / f"rows-{n_rows}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "dsa_pipelines_tests.bench.bench_diff", "--child",
                               "--rows", str(n_rows), "--data", str(data_dir), "--root", tmp],
                              capture_output=True, text=True, check=True)
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    v1 = _v1_bytes(data_dir, n_rows)
    ms = 1000
    return [
        {"name": "diff v5→v6 (one row changed)", "value": f"{m['diff_v5_v6'] * ms:.1f} ms, read "
         f"{m['diff_v5_v6_rows_read']} rows ({m['diff_v5_v6_rows_read'] / n_rows:.4%})",
         "target": "<= 20 ms, < 1% of rows",
         "ok": m["diff_v5_v6"] <= 0.02 and m["diff_v5_v6_rows_read"] < n_rows / 100},
        {"name": "diff v1→v2 keyed by id (1% updates)", "value": f"{m['diff_v1_v2_keyed']:.3f} s "
         f"({m['diff_v1_v2_changed']:,} changed)", "target": "<= 0.5 s", "ok": m["diff_v1_v2_keyed"] <= 0.5},
        {"name": "diff v1→v2 keyless", "value": f"{m['diff_v1_v2_keyless']:.3f} s "
         f"({m['diff_v1_v2_keyless_changed']:,} paired)", "target": "<= 0.5 s", "ok": m["diff_v1_v2_keyless"] <= 0.5},
        {"name": "generic diff (DuckDB full outer join on id, reference)",
         "value": f"{m['generic_diff']:.3f} s ({m['generic_diff_rows']:,} rows)", "target": "-", "ok": True},
        {"name": "merge, 1% disjoint updates per side", "value": f"{m['merge']:.3f} s ({m['merge_status']}), "
         f"+{m['merge_bytes'] / 1e3:.1f} KB ({m['merge_bytes'] / v1:.2%} of v1)",
         "target": "<= 1.5 s, <= 3% of v1", "ok": m["merge"] <= 1.5 and m["merge_bytes"] <= 0.03 * v1},
        {"name": "edit of 100 rows", "value": f"{m['edit_100']:.3f} s, +{m['edit_bytes'] / 1e3:.1f} KB "
         f"({m['edit_bytes'] / v1:.3%} of v1)", "target": "<= 0.3 s, <= 0.1% of v1",
         "ok": m["edit_100"] <= 0.3 and m["edit_bytes"] <= 0.001 * v1},
        {"name": "peak RSS (whole suite)", "value": f"{m['rss_mb']:.0f} MB", "target": "<= 1024 MB",
         "ok": m["rss_mb"] <= 1024},
    ]


def main() -> None:
    """Print the measurements (``--child``: take them and print raw JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--data", default="data/bench")
    parser.add_argument("--root", default="")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.rows, Path(args.data), Path(args.root))))
        return
    from dsa_pipelines_tests.bench.bench_store import print_table

    print_table(run(args.rows, Path(args.data)), f"diff ({args.rows:,} rows)")


if __name__ == "__main__":
    main()
