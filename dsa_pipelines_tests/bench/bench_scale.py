"""Scale benchmark (issue 13): cost follows the change, not the store.

Tables (medians; every measured commit runs in a fresh child process, so its peak RSS
is its own):

- a 10k-row upload into a store already holding S stored rows (default 1M, 10M, 50M);
- a 10k-row upload after C earlier small commits (default 0, 1,000, 10,000);
- a 1,000-row commit in-process (store of any size), and 8 writer processes committing
  to one branch at once (SQLite, and PostgreSQL via pgserver when available);
- the 1M-row full snapshots v1..v6 from Parquet, next to a plain zstd Parquet write;
- with ``--huge``: a generated CSV of about 5 GB (37M rows of the bench workload).

Run ``python -m dsa_pipelines_tests.bench --only scale`` (``--huge`` for the big file);
``--scale-stored``, ``--scale-commits`` and ``--huge-rows`` shrink the sizes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dsa_pipelines_tests.bench.datagen import (
    CHUNK_ROWS,
    DEFAULT_SEED,
    SCHEMA,
    VERSIONS,
    _generate,
    _table,
    make_versions,
)

UPLOAD_ROWS = 10_000
FILL_CHUNK = 1_000_000
TARGETS = {"small": 0.030, "writers": 30.0, "snapshot": 1.5, "no_changes": 0.2, "huge_per_m": 3.0, "huge_rss": 1536}

_PRELUDE = r"""
import json, resource, sys, time
import numpy as np, pyarrow as pa
from dsa_pipelines.storage import Store
import dsa_pipelines.storage.hashing, dsa_pipelines.storage.ingest, dsa_pipelines.storage.readers  # warm imports
dsa_pipelines.storage.hashing.row_keys(pa.table({"w": [1]}))

def frame(seed, n):
    rng = np.random.default_rng(seed)
    return pa.table({"id": rng.integers(0, 1 << 62, n), "x": rng.random(n), "s": rng.integers(0, 1000, n).astype(str)})

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_FILL = _PRELUDE + r"""
root, url, rows, commits, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dataset = sys.argv[6] if len(sys.argv) > 6 else "s"
store = Store.open(root, url)
if dataset not in {d.name for d in store.list_datasets()}:
    store.create_dataset(dataset)
seed = int(time.time() * 1e6) % (1 << 31)
for i in range(rows // chunk if rows else 0):
    store.commit(dataset, frame(seed + i, chunk), table="t", message=f"fill {i}")
for i in range(commits):
    store.commit(dataset, frame(seed + 10_000_000 + i, 100), table="t", message=f"small {i}")
print(json.dumps({"ok": True}))
"""

_ONE_COMMIT = _PRELUDE + r"""
root, url, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = Store.open(root, url)
data = frame(seed, n)
t0 = time.perf_counter()
res = store.commit("s", data, table="t", message="measured")
print(json.dumps({"seconds": time.perf_counter() - t0, "rss_mb": rss_mb(), "stored": res.tables["t"].stored_rows}))
"""

_SMALL = _PRELUDE + r"""
root, url, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store.open(root, url)
times = []
for i in range(k):
    data = frame(1_000_000 + i, 1000)
    t0 = time.perf_counter()
    store.commit("s", data, table="t", message=f"small {i}")
    times.append(time.perf_counter() - t0)
print(json.dumps({"median": sorted(times)[len(times) // 2], "rss_mb": rss_mb()}))
"""

_WRITER = _PRELUDE + r"""
root, url, seed, k, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
store = Store.open(root, url)
while time.time() < start:
    time.sleep(0.001)
ok, failed = 0, []
for i in range(k):
    try:
        store.commit("w", frame(seed * 100_000 + i, 100), table=f"t{seed}", message=f"w{seed} {i}")
        ok += 1
    except Exception as e:  # noqa: BLE001 — counted, reported in the table
        failed.append(type(e).__name__)
print(json.dumps({"ok": ok, "failed": failed, "end": time.time()}))
"""

_SNAPSHOTS = r"""
import json, sys, time
import pyarrow.parquet as pq
from dsa_pipelines.storage import Store
import dsa_pipelines.storage.hashing, dsa_pipelines.storage.ingest, dsa_pipelines.storage.readers  # warm imports
dsa_pipelines.storage.hashing.row_keys(__import__("pyarrow").table({"w": [1]}))
root, data = sys.argv[1], sys.argv[2]
store = Store.open(root)
store.create_dataset("b")
out = {}
for v in ("v1", "v2", "v3", "v4", "v5", "v6"):
    t0, c0 = time.perf_counter(), time.process_time()
    res = store.commit("b", {"t": f"{data}/{v}.parquet"}, message=v)
    out[v] = [time.perf_counter() - t0, res.status, time.process_time() - c0]
t0 = time.perf_counter()
again = store.commit("b", {"t": f"{data}/v6.parquet"}, message="identical bytes")
out["same_bytes"] = [time.perf_counter() - t0, again.status]
table = pq.read_table(f"{data}/v1.parquet")
t0 = time.perf_counter()
pq.write_table(table, f"{root}/plain.parquet", compression="zstd")
out["plain_write"] = time.perf_counter() - t0
print(json.dumps(out))
"""

_HUGE = r"""
import json, resource, sys, time
from dsa_pipelines.storage import Store
import dsa_pipelines.storage.hashing, dsa_pipelines.storage.ingest, dsa_pipelines.storage.readers  # warm imports
dsa_pipelines.storage.hashing.row_keys(__import__("pyarrow").table({"w": [1]}))
root, path = sys.argv[1], sys.argv[2]
store = Store.open(root)
store.create_dataset("h")
t0 = time.perf_counter()
res = store.commit("h", {"t": path})
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": res.tables["t"].rows,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: object, timeout: float = 7200) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         timeout=timeout, check=False)
    if out.returncode:
        raise RuntimeError(f"benchmark child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fresh(tmp: Path, name: str) -> tuple[Path, str]:
    root = tmp / name
    return root, f"sqlite:///{root / 'catalog.db'}"


def stored_rows_table(sizes: list[int], repeat: int, tmp: Path) -> list[dict]:
    """10k-row uploads into stores holding ``sizes`` stored rows: latency and peak RSS."""
    out, first = [], None
    for size in sizes:
        root, url = _fresh(tmp, f"stored-{size}")
        _child(_FILL, root, url, size, 0, min(FILL_CHUNK, size))
        runs = [_child(_ONE_COMMIT, root, url, UPLOAD_ROWS, 77 + i) for i in range(repeat)]
        secs, rss = statistics.median(r["seconds"] for r in runs), statistics.median(r["rss_mb"] for r in runs)
        first = first or secs
        out.append({"name": f"10k-row upload, store holding {size:,} rows", "value":
                    f"{secs * 1000:.0f} ms (x{secs / first:.2f} of the smallest), peak RSS {rss:.0f} MB",
                    "target": "flat within noise", "ok": secs <= 2 * first})
    return out


def earlier_commits_table(counts: list[int], repeat: int, tmp: Path) -> list[dict]:
    """10k-row uploads after ``counts`` earlier 100-row commits."""
    out, first = [], None
    for count in counts:
        root, url = _fresh(tmp, f"commits-{count}")
        _child(_FILL, root, url, 0, count, 1)
        runs = [_child(_ONE_COMMIT, root, url, UPLOAD_ROWS, 99 + i) for i in range(repeat)]
        secs = statistics.median(r["seconds"] for r in runs)
        first = first or secs
        out.append({"name": f"10k-row upload after {count:,} earlier commits", "value":
                    f"{secs * 1000:.0f} ms (x{secs / first:.2f} of the first)", "target": "flat within noise",
                    "ok": secs <= 2 * first})
    return out


def _postgres_url() -> tuple[str, object] | None:
    try:
        from dsa_pipelines_tests.postgres import PostgresUnavailable, open_server  # noqa: PLC0415
    except ImportError:
        return None
    try:
        server = open_server()
    except PostgresUnavailable:
        return None
    return server.create_database(), server


def small_commit_tables(tmp: Path, writers: int, per_writer: int, with_postgres: bool = True) -> list[dict]:
    """A 1,000-row commit in-process, and ``writers`` processes committing at once."""
    root, url = _fresh(tmp, "small")
    _child(_FILL, root, url, 0, 1, 1)
    small = _child(_SMALL, root, url, 30)
    out = [{"name": "1,000-row commit in-process (median of 30)", "value": f"{small['median'] * 1000:.0f} ms",
            "target": f"<= {TARGETS['small'] * 1000:.0f} ms", "ok": small["median"] <= TARGETS["small"]}]
    backends: list[tuple[str, str, object]] = [("SQLite", f"sqlite:///{tmp / 'writers-SQLite' / 'catalog.db'}", None)]
    pg = _postgres_url() if with_postgres else None
    if pg:
        backends.append(("PostgreSQL", pg[0], pg[1]))
    for label, catalog, server in backends:
        wroot = tmp / f"writers-{label}"
        _child(_FILL, wroot, catalog, 0, 0, 1, "w")
        start = time.time() + 3.0
        procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(wroot), catalog, str(i), str(per_writer),
                                   str(start)], stdout=subprocess.PIPE, text=True) for i in range(writers)]
        results = [json.loads(p.communicate(timeout=3600)[0].strip().splitlines()[-1]) for p in procs]
        done = sum(r["ok"] for r in results)
        errors = [e for r in results for e in r["failed"]]
        failed = len(errors)
        rate = done / (max(r["end"] for r in results) - start)
        why = f" ({', '.join(sorted(set(errors)))})" if errors else ""
        out.append({"name": f"{writers} writers x {per_writer} commits on one branch ({label})",
                    "value": f"{rate:.1f} commits/s, {failed} failed{why}",
                    "target": f">= {TARGETS['writers']:.0f}/s, 0 failed",
                    "ok": rate >= TARGETS["writers"] and failed == 0})
        if server is not None:
            server.drop_database(catalog)
            server.close()
    return out


def snapshot_table(n_rows: int, repeat: int, tmp: Path, data_dir: Path) -> list[dict]:
    """v1..v6 full snapshots from Parquet, the identical re-upload, and a plain Parquet write."""
    versions = make_versions(n_rows, data_dir, formats=("parquet",))
    data = versions["v1"]["parquet"].parent
    runs = [_child(_SNAPSHOTS, tmp / f"snap-{i}", data) for i in range(repeat)]
    plain = statistics.median(r["plain_write"] for r in runs)
    out = []
    for v in VERSIONS:
        secs = statistics.median(r[v][0] for r in runs)
        cpu = statistics.median(r[v][2] for r in runs)
        out.append({"name": f"{n_rows:,}-row snapshot {v} from Parquet ({runs[0][v][1]})",
                    "value": f"{secs:.2f} s, CPU {cpu:.2f} s ({secs / plain:.1f}x plain zstd write {plain:.2f} s)",
                    "target": f"<= {TARGETS['snapshot']} s", "ok": secs <= TARGETS["snapshot"]})
    same = statistics.median(r["same_bytes"][0] for r in runs)
    out.append({"name": "identical file bytes again (file-content fast path)", "value":
                f"{same * 1000:.0f} ms ({runs[0]['same_bytes'][1]})",
                "target": f"<= {TARGETS['no_changes'] * 1000:.0f} ms",
                "ok": same <= TARGETS["no_changes"] and runs[0]["same_bytes"][1] == "no_changes"})
    return out


def write_huge_csv(path: Path, n_rows: int) -> Path:
    """v1 of the bench workload as one CSV of ``n_rows`` rows, written chunk by chunk (flat memory)."""
    import pyarrow.csv as pacsv  # noqa: PLC0415

    stamp = path.with_suffix(".json")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == {"rows": n_rows}:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with pacsv.CSVWriter(path, SCHEMA) as writer:
        for start in range(0, n_rows, CHUNK_ROWS):
            writer.write_table(_table(_generate(start, min(start + CHUNK_ROWS, n_rows), DEFAULT_SEED, stream=0)))
    stamp.write_text(json.dumps({"rows": n_rows}))
    return path


def huge_table(n_rows: int, tmp: Path, data_dir: Path) -> list[dict]:
    """Ingest one big CSV: time per million rows and peak RSS."""
    path = write_huge_csv(data_dir / f"huge-{n_rows}.csv", n_rows)
    size_gb = path.stat().st_size / 1e9
    r = _child(_HUGE, tmp / "huge", path)
    per_m = r["seconds"] / (r["rows"] / 1e6)
    return [{"name": f"huge CSV {size_gb:.2f} GB ({r['rows']:,} rows)", "value":
             f"{r['seconds']:.0f} s ({per_m:.2f} s per M rows), peak RSS {r['rss_mb']:.0f} MB",
             "target": f"<= {TARGETS['huge_per_m']} s/M rows, RSS <= {TARGETS['huge_rss']} MB",
             "ok": per_m <= TARGETS["huge_per_m"] and r["rss_mb"] <= TARGETS["huge_rss"]}]


def run(n_rows: int = 1_000_000, repeat: int = 3, huge: bool = False, stored: tuple[int, ...] = (1_000_000,
        10_000_000, 50_000_000), commits: tuple[int, ...] = (0, 1_000, 10_000), huge_rows: int = 37_000_000,
        writers: int = 8, per_writer: int = 50, data_dir: Path | None = None) -> list[dict]:
    """Run the scale benchmark; returns result rows (name, value, target, ok)."""
    data_dir = Path(data_dir or "data/bench")
    with tempfile.TemporaryDirectory(prefix="dsa-scale-") as tmp_name:
        tmp = Path(tmp_name)
        out = stored_rows_table(list(stored), repeat, tmp)
        out += earlier_commits_table(list(commits), repeat, tmp)
        out += small_commit_tables(tmp, writers, per_writer)
        out += snapshot_table(n_rows, repeat, tmp, data_dir / f"rows-{n_rows}")
        if huge:
            out += huge_table(huge_rows, tmp, data_dir)
    return out


if __name__ == "__main__":
    from dsa_pipelines_tests.bench.bench_store import print_table  # noqa: PLC0415

    print_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, repeat=1), "scale")
