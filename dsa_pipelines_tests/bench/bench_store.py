"""Storage benchmark: six snapshots committed in a row, from Parquet and from CSV.

Each commit runs in a fresh child process so that its peak RSS is its own. Figures are
medians over ``repeat`` independent runs (fresh store each run).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dsa_pipelines_tests.bench.datagen import VERSIONS, make_versions, plain_parquet_size

_CHILD = r"""
import json, resource, sys, time
from dsa_pipelines.storage import Store
root, path, version = sys.argv[1], sys.argv[2], sys.argv[3]
store = Store.open(root)
if not store.list_datasets():
    store.create_dataset("bench")
t0 = time.perf_counter()
res = store.commit("bench", {"t": path}, message=version)
seconds = time.perf_counter() - t0
t = res.tables["t"]
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": t.rows, "stored": t.stored_rows, "status": res.status}))
"""

_READ_CHILD = r"""
import json, sys, time
import pyarrow.parquet as pq
from dsa_pipelines.storage import Store
root, plain = sys.argv[1], sys.argv[2]
store = Store.open(root)
out = {}
for label, fn in [("plain", lambda: pq.read_table(plain)), ("v1", lambda: store.read_table("bench", "v1").table),
                  ("v6", lambda: store.read_table("bench", "main").table)]:
    times = []
    for _ in range(3):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    out[label] = sorted(times)[1]
print(json.dumps(out))
"""


def _objects_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "objects").rglob("*") if p.is_file())


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_sequence(versions: dict[str, dict[str, Path]], fmt: str, root: Path) -> list[dict]:
    """Commit v1..v6 of one format into a fresh store; per version: time, RSS, bytes added."""
    rows = []
    before = 0
    for v in VERSIONS:
        r = _child(_CHILD, str(root), str(versions[v][fmt]), v)
        after = _objects_bytes(root)
        rows.append({**r, "version": v, "added_bytes": after - before, "store_bytes": after})
        before = after
    return rows


def run(n_rows: int = 1_000_000, repeat: int = 3, data_dir: Path | None = None) -> list[dict]:
    """Run the storage benchmark; returns result rows (name, value, target, ok)."""
    data_dir = Path(data_dir or "data/bench") / f"rows-{n_rows}"
    versions = make_versions(n_rows, data_dir)
    plain_path, plain_bytes = plain_parquet_size(versions)
    results: dict[str, list[list[dict]]] = {"parquet": [], "csv": []}
    reads: list[dict] = []
    for _ in range(repeat):
        for fmt in ("parquet", "csv"):
            with tempfile.TemporaryDirectory(prefix="dsa-bench-") as tmp:
                results[fmt].append(run_sequence(versions, fmt, Path(tmp)))
                if fmt == "parquet":
                    reads.append(_child(_READ_CHILD, tmp, str(plain_path)))
    out: list[dict] = []
    med = statistics.median
    for fmt, target in (("parquet", 3.0), ("csv", 10.0)):
        for i, v in enumerate(VERSIONS):
            secs = med(run[i]["seconds"] for run in results[fmt])
            rss = med(run[i]["rss_mb"] for run in results[fmt])
            rows = results[fmt][0][i]["rows"]
            out.append({"name": f"commit {v} from {fmt}", "value": f"{secs:.2f} s ({rows / secs / 1e6:.2f} M rows/s, "
                        f"peak RSS {rss:.0f} MB)", "target": f"<= {target:.0f} s, RSS <= 1024 MB",
                        "ok": secs <= target and rss <= 1024})
    v1_bytes = results["parquet"][0][0]["added_bytes"]
    out.append({"name": "store after v1 / plain zstd Parquet", "value":
                f"{v1_bytes / 1e6:.1f} MB / {plain_bytes / 1e6:.1f} MB = {v1_bytes / plain_bytes:.2f}x",
                "target": "<= 1.5x", "ok": v1_bytes / plain_bytes <= 1.5})
    limits = {"v2": 0.10, "v3": 0.03, "v4": 0.10, "v5": 0.0, "v6": 0.01}
    for i, v in enumerate(VERSIONS[1:], start=1):
        added = results["parquet"][0][i]["added_bytes"]
        share = added / v1_bytes
        out.append({"name": f"bytes added by {v}", "value": f"{added / 1e3:.1f} KB ({share:.2%} of v1)",
                    "target": f"<= {limits[v]:.0%}", "ok": share <= limits[v] or (limits[v] == 0 and added == 0)})
    plain_read = med(r["plain"] for r in reads)
    for v in ("v1", "v6"):
        secs = med(r[v] for r in reads)
        value = f"{secs:.2f} s ({secs / plain_read:.2f}x plain {plain_read:.2f} s)"
        out.append({"name": f"read {v} in full", "value": value,
                    "target": "<= 2x plain", "ok": secs <= 2 * plain_read})
    return out


def print_table(rows: list[dict], title: str) -> None:
    """Print result rows as a Markdown table."""
    print(f"\n### {title}\n")
    print("| measure | result | target | ok |")
    print("|---|---|---|---|")
    for r in rows:
        if "value" not in r:  # timing rows of the statistics / sampling suites: {name, seconds, target}
            target = r.get("target")
            r = {"name": r["name"], "value": f"{r['seconds']:.2f} s (median)",
                 "target": f"<= {target:g} s" if target else "-", "ok": target is None or r["seconds"] <= target}
        print(f"| {r['name']} | {r['value']} | {r['target']} | {'yes' if r['ok'] else 'NO'} |")


if __name__ == "__main__":
    t0 = time.time()
    print_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, repeat=1), "storage")
    print(f"({time.time() - t0:.0f} s)")
