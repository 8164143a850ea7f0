"""Benchmark: a 3-round stratified sample of a 1M-row commit (target: at most 3 s).

Each measurement is one ``draw_sample`` call end to end — reading the strata columns,
the three rounds in DuckDB, and writing three round commits (two tables each) — with a
new sample name each time. Reported: the median of 3.

Run ``python -m dsa_pipelines_tests.bench.bench_sampling --rows 1000000``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from dsa_pipelines.sampling import SampleRound, SampleSpec, draw_sample
from dsa_pipelines.storage import Store
from dsa_pipelines_tests.bench.datagen import make_versions

TARGET_SECONDS = 3.0
REPEATS = 3
ROUNDS = (
    SampleRound("stratified", size=5_000, strata=("category",), min_per_stratum=50),
    SampleRound("stratified", fraction=0.01, strata=("category", "flag"), filter="amount > 10"),
    SampleRound("stratified", allocation="fixed", per_stratum=100, strata=("category",)),
)


def run(n_rows: int = 1_000_000, work_dir: Path | None = None) -> list[dict]:
    """Measure the 3-round stratified sample.

    Args:
        n_rows: Rows of the source commit (the benchmark's v1 table).
        work_dir: Where data and the store go (default: a temporary folder).

    Returns:
        One dict per measurement: name, seconds (median of 3), target, plus sizes.
    """
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work_dir or tmp)
        versions = make_versions(n_rows, base / "data", formats=("parquet",))
        with Store.open(base / "store", f"sqlite:///{base / 'store' / 'catalog.db'}") as store:
            store.create_dataset("bench")
            store.commit("bench", versions["v1"]["parquet"], table="rows", message="v1")
            times, drawn = [], 0
            for i in range(REPEATS):
                t0 = time.perf_counter()
                result = draw_sample(store, SampleSpec("bench", f"s{i}", ROUNDS, seed=i))
                times.append(time.perf_counter() - t0)
                drawn = sum(r.drawn for r in result.rounds)
    return [{"name": "sampling_3_round_stratified", "seconds": round(statistics.median(times), 3),
             "target": TARGET_SECONDS, "rows": n_rows, "drawn_rows": drawn,
             "all_seconds": [round(t, 3) for t in times]}]


def main() -> None:
    """Print the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    for row in run(args.rows):
        print(row)


if __name__ == "__main__":
    main()
