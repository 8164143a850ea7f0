"""History reads: log and revision resolution over a long first-parent history (issue 8).

The history is written straight into the catalog (10,000 commits of one small table in
one transaction) so that building it takes seconds, not the hours 10,000 uploads would.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from dsa_pipelines.storage import Store
from dsa_pipelines.storage.catalog.commits import insert_commit
from dsa_pipelines.storage.writer import new_commit

COMMITS = 10_000
LOG_TARGET_MS = 50


def _median_ms(fn, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run(rows: int, repeat: int = 5) -> list[dict]:
    """Log and resolve over a ``COMMITS``-long history (``rows`` is not used)."""
    del rows
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "store") as store:
        store.create_dataset("d")
        first = store.commit("d", {"t": pd.DataFrame({"v": [1, 2]})})
        tables, head = store.get_commit("d").tables, first.commit_id
        with store.catalog.write() as conn:
            for i in range(COMMITS):
                commit = new_commit("d", tables, (head,), "bench", f"commit {i}")
                insert_commit(conn, commit)
                head = commit.id
            store.refs.set_if_equals(conn, "d", "main", first.commit_id, head, "bench", "bench history")
        full = _median_ms(lambda: store.log("d"), repeat)
        return [
            {"name": f"log of {COMMITS + 2:,} commits", "value": f"{full:.0f} ms", "target": f"<= {LOG_TARGET_MS} ms",
             "ok": full <= LOG_TARGET_MS},
            _row("log, newest 20", _median_ms(lambda: store.log("d", limit=20), repeat)),
            _row("resolve main~2", _median_ms(lambda: store.resolve("d", "main~2"), repeat)),
            _row(f"resolve v{COMMITS // 2}", _median_ms(lambda: store.resolve("d", f"v{COMMITS // 2}"), repeat)),
        ]


def _row(name: str, ms: float) -> dict:
    return {"name": name, "value": f"{ms:.1f} ms", "target": "-", "ok": True}
