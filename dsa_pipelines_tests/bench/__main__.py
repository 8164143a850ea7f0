"""`make bench`: every benchmark, printed as Markdown tables.

Usage: python -m dsa_pipelines_tests.bench [--rows N] [--repeat K] [--only SUITE,...] (suites: see SUITES)
Data is generated deterministically under data/bench/ (not committed) and reused.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import time

from dsa_pipelines_tests.bench.bench_store import print_table

SUITES = {
    "store": "dsa_pipelines_tests.bench.bench_store",
    "statistics": "dsa_pipelines_tests.bench.bench_statistics",
    "sampling": "dsa_pipelines_tests.bench.bench_sampling",
    "history": "dsa_pipelines_tests.bench.bench_history",
    "gc": "dsa_pipelines_tests.bench.bench_gc",
    "diff": "dsa_pipelines_tests.bench.bench_diff",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--only", default=",".join(SUITES))
    args = parser.parse_args()
    for name in args.only.split(","):
        module = importlib.import_module(SUITES[name])
        t0 = time.time()
        kwargs = {"repeat": args.repeat} if "repeat" in inspect.signature(module.run).parameters else {}
        rows = module.run(args.rows, **kwargs)
        print_table(rows, f"{name} ({args.rows:,} rows, took {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
