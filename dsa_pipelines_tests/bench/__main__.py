"""`make bench`: every benchmark, printed as Markdown tables.

Usage: python -m dsa_pipelines_tests.bench [--rows N] [--repeat K]
       [--only store,statistics,sampling,history,gc,scale,integrity,access]
       [--huge] [--huge-rows N] [--scale-stored 1000000,10000000,50000000] [--scale-commits 0,1000,10000]
(``access`` takes min(N, 100,000) as its number of datasets.)
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
    "scale": "dsa_pipelines_tests.bench.bench_scale",
    "integrity": "dsa_pipelines_tests.bench.bench_integrity",
    "diff": "dsa_pipelines_tests.bench.bench_diff",
    "access": "dsa_pipelines_tests.bench.bench_access",
}


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--only", default=",".join(SUITES))
    parser.add_argument("--huge", action="store_true", help="scale: also ingest a generated ~5 GB CSV")
    parser.add_argument("--huge-rows", type=int, default=37_000_000, help="scale: rows of the huge CSV")
    parser.add_argument("--scale-stored", type=_sizes, default=(1_000_000, 10_000_000, 50_000_000))
    parser.add_argument("--scale-commits", type=_sizes, default=(0, 1_000, 10_000))
    parser.add_argument("--writers", type=int, default=8, help="scale: concurrent writer processes")
    parser.add_argument("--per-writer", type=int, default=50, help="scale: commits per writer")
    args = parser.parse_args()
    for name in args.only.split(","):
        module = importlib.import_module(SUITES[name])
        t0 = time.time()
        kwargs = {"repeat": args.repeat} if "repeat" in inspect.signature(module.run).parameters else {}
        if name == "scale":
            kwargs.update(huge=args.huge, huge_rows=args.huge_rows, stored=args.scale_stored,
                          commits=args.scale_commits, writers=args.writers, per_writer=args.per_writer)
        rows = module.run(args.rows, **kwargs)
        print_table(rows, f"{name} ({args.rows:,} rows, took {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
