"""`dsa log` and friends import only what they need (DuckDB, pandas, openpyxl, alembic load when used)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from dsa_pipelines.storage import Store

HEAVY = ("duckdb", "pandas", "alembic", "openpyxl", "dsa_pipelines.storage.readers")
_PROBE = """
import sys
from dsa_pipelines import cli
code = cli.main(sys.argv[1:])
print(code, sorted(m for m in {heavy!r} if m in sys.modules))
"""


def test_log_and_show_load_neither_duckdb_pandas_nor_alembic(tmp_path: Path):
    root = tmp_path / "store"
    with Store.open(root) as store:
        store.create_dataset("d")
        store.commit("d", pa.table({"a": [1, 2, 3]}), table="t", message="first")
    env = {**os.environ, "DSA_STORE_ROOT": str(root), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("DSA_CATALOG_URL", None)
    for command in (["log", "d"], ["show", "d"], ["branch", "d"]):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *command], capture_output=True,
                             text=True, env=env, check=True).stdout.strip().splitlines()[-1]
        assert out == "0 []", (command, out)
