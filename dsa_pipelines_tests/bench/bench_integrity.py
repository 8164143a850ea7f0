"""Hostile-input benchmark: a wide table and zip-bomb workbooks, each in a fresh child process
(time and peak RSS are its own). ``--rows`` does not apply; the shapes are those of issue 12.

Cases:
- wide CSV: 10,000 columns × 1,000 rows, committed (target: within the default DuckDB limit);
- zip bomb refused: 2 data rows then 1,000,000 empty rows (~86 MB of sheet XML from ~0.3 MB),
  refused by the ratio cap before any XML is parsed;
- zip bomb read: the same workbook with the ratio cap lifted (its 2 rows are read; trailing
  empty rows cost only XML parsing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from dsa_pipelines_tests.xlsx_bombs import empty_rows_bomb

_CHILD = r"""
import json, sys, time
from dsa_pipelines.storage import DsaError, Store
root, path = sys.argv[1], sys.argv[2]
store = Store.open(root)
store.create_dataset("bench")
t0 = time.perf_counter()
try:
    res = store.commit("bench", {"t": path} if path.endswith(".csv") else path)
    outcome = f"{res.status}, {sum(t.rows for t in res.tables.values())} rows"
except DsaError as e:
    outcome = f"refused ({type(e).__name__})"
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's high-water mark across fork and exec
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "outcome": outcome, "rss_mb": hwm / 1024}))
"""


def _child(root: Path, path: Path, env: dict[str, str] | None = None) -> dict:
    import os

    out = subprocess.run([sys.executable, "-c", _CHILD, str(root), str(path)], capture_output=True, text=True,
                         check=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wide_csv(path: Path, columns: int, rows: int) -> Path:
    values = np.random.default_rng(0).integers(0, 1000, (rows, columns))
    with open(path, "w") as f:
        f.write(",".join(f"q{i}" for i in range(columns)) + "\n")
        np.savetxt(f, values, fmt="%d", delimiter=",")
    return path


def run(n_rows: int = 0, columns: int = 10_000, rows: int = 1_000, empty_rows: int = 1_000_000) -> list[dict]:
    """Run the three cases; returns result rows for :func:`print_table`."""
    with tempfile.TemporaryDirectory(prefix="dsa-bench-integrity-") as tmp:
        tmp = Path(tmp)
        wide = _wide_csv(tmp / "wide.csv", columns, rows)
        bomb = empty_rows_bomb(tmp / "bomb.xlsx", empty_rows)
        cases = [
            (f"wide CSV {columns:,} columns x {rows:,} rows", wide, None, 60),
            (f"xlsx bomb ({empty_rows:,} empty rows, {bomb.stat().st_size / 1e3:.0f} KB) refused", bomb, None, 1),
            (f"xlsx bomb ({empty_rows:,} empty rows) read, ratio cap lifted", bomb,
             {"DSA_XLSX_MAX_RATIO": "1000000000"}, 30),
        ]
        out = []
        for i, (name, path, env, target) in enumerate(cases):
            r = _child(tmp / f"store{i}", path, env)
            out.append({"name": name, "value": f"{r['seconds']:.2f} s, peak RSS {r['rss_mb']:.0f} MB, {r['outcome']}",
                        "target": f"<= {target} s", "ok": r["seconds"] <= target})
        return out


if __name__ == "__main__":
    from dsa_pipelines_tests.bench.bench_store import print_table

    print_table(run(), "integrity")
