"""Wide tables (survey and lab data): thousands of columns ingest and read back (issue 12, defect 3)."""

from __future__ import annotations

import numpy as np
import pytest

from dsa_pipelines.storage import ResourceLimit, Store
from dsa_pipelines.storage.engine import WIDE_COLUMNS


def _wide_csv(path, columns: int, rows: int):
    values = np.random.default_rng(0).integers(0, 1000, (rows, columns))
    with open(path, "w") as f:
        f.write(",".join(f"q{i}" for i in range(columns)) + "\n")
        np.savetxt(f, values, fmt="%d", delimiter=",")
    return values


def test_a_csv_wider_than_the_wide_threshold_commits_and_reads_back(store: Store, tmp_path):
    path = tmp_path / "survey.csv"
    values = _wide_csv(path, WIDE_COLUMNS + 500, 120)
    store.create_dataset("s")
    result = store.commit("s", path, table="survey")
    assert result.tables["survey"].rows == 120
    back = store.read_table("s", "main", "survey").table
    assert back.num_columns == WIDE_COLUMNS + 500
    assert np.array_equal(np.column_stack([c.to_numpy() for c in back.columns]), values)
    assert store.commit("s", path, table="survey").status == "no_changes"


def test_duckdb_running_out_of_memory_is_a_resource_limit_naming_the_setting(store: Store, tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    _wide_csv(path, 50, 20_000)
    store.create_dataset("s")
    monkeypatch.setenv("DSA_DUCKDB_MEMORY_LIMIT", "1MB")
    with pytest.raises(ResourceLimit, match="DSA_DUCKDB_MEMORY_LIMIT") as e:
        store.commit("s", path, table="t")
    assert e.value.setting == "DSA_DUCKDB_MEMORY_LIMIT"
