"""SQLite: reads never take the write lock (WAL readers see a snapshot while a writer holds it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from dsa_pipelines.storage import Store

HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE datasets SET description = 'being edited'")
print("locked", flush=True)
sys.stdin.read()          # hold the write transaction until the test closes stdin
conn.execute("ROLLBACK")
"""


def test_reads_complete_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store.open(root) as store:
        store.create_dataset("d", description="before")
        store.commit("d", {"t": pd.DataFrame({"v": [1, 2, 3]})}, message="one")
        _, cursor = store.new_commits(None)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(root / "catalog.db")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        # A fresh process-like store: new connections, so nothing is cached.
        with Store.open(root) as reader:
            assert reader.get_dataset("d").description == "before"
            assert [e.commit.message for e in reader.log("d")] == ["one", "Create dataset"]
            assert reader.read_table("d", "main").table.column("v").to_pylist() == [1, 2, 3]
            assert reader.new_commits(cursor)[0] == []
            assert [r.name for r in reader.branches("d")] == ["main"]
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)
    assert holder.returncode == 0
