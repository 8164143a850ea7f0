"""Benchmark: statistics, statistical diff and profile of a 1M-row × 10-column commit.

Measures (median of 3 runs each, on a fresh store built from ``datagen`` v1 and v2):

* ``statistics`` — computing the statistics of one commit table (read + DuckDB queries;
  the catalog cache is cleared before every run);
* ``statistical diff`` — the drift report of v2 against v1, both commits' statistics
  already in the catalog (as they are once each commit has been described);
* ``statistical diff (cold)`` — the same with neither commit's statistics computed yet;
* ``profile`` — the ydata-profiling report with the default sample (100k rows).

Run ``python -m dsa_pipelines_tests.bench.bench_statistics --rows 1000000``.
"""

from __future__ import annotations

import argparse
import statistics as stats_module
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from dsa_pipelines.quality.distribution_drift import stat_diff
from dsa_pipelines.quality.profiling import profile_commit
from dsa_pipelines.quality.statistics import store_statistics
from dsa_pipelines.quality.tables import commit_statistics
from dsa_pipelines.storage import Store
from dsa_pipelines_tests.bench.datagen import make_versions

REPEATS = 3


def _median_seconds(fn: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(REPEATS):
        before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return stats_module.median(times)


def run(n_rows: int = 1_000_000, data_dir: str | Path | None = None) -> list[dict]:
    """Measure statistics, diff and profile; returns rows ``{name, seconds, target}``.

    Args:
        n_rows: Rows of v1 (v2 updates 1% of them).
        data_dir: Where datagen writes (default: a temporary folder).
    """
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_versions(n_rows, Path(data_dir or tmp) / "data", formats=("parquet",))
        with Store.open(Path(tmp) / "store") as store:
            store.create_dataset("bench")
            v1 = store.commit("bench", paths["v1"]["parquet"], table="tx", message="v1").commit_id
            v2 = store.commit("bench", paths["v2"]["parquet"], table="tx", message="v2").commit_id

            def forget() -> None:
                with store.catalog.write() as conn:
                    conn.execute(sa.delete(commit_statistics))

            rows = [{"name": f"statistics ({n_rows:,} rows × 10 columns)",
                     "seconds": _median_seconds(lambda: store_statistics(store, "bench", v2), forget),
                     "target": 3.0}]
            cold = _median_seconds(lambda: stat_diff(store, "bench", v2, v1), forget)
            store_statistics(store, "bench", v1)
            store_statistics(store, "bench", v2)
            rows.append({"name": "statistical diff v2 vs v1 (statistics stored)",
                         "seconds": _median_seconds(lambda: stat_diff(store, "bench", v2, v1)), "target": 3.0})
            rows.append({"name": "statistical diff v2 vs v1 (cold: statistics computed too)", "seconds": cold,
                         "target": None})
            rows.append({"name": "profile (default sample: 100,000 rows)",
                         "seconds": _median_seconds(lambda: profile_commit(store, "bench", v2, force=True)),
                         "target": 30.0})
    for row in rows:
        row["seconds"] = round(row["seconds"], 3)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", default=None, help="datagen output folder (reused when current)")
    args = parser.parse_args()
    print("| measurement | seconds (median of 3) | target |\n|---|---:|---:|")
    for row in run(args.rows, args.data):
        target = f"≤ {row['target']:g} s" if row["target"] else "–"
        print(f"| {row['name']} | {row['seconds']:.3f} | {target} |")


if __name__ == "__main__":
    main()
