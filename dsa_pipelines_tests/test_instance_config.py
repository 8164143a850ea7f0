"""The embedded instance config (``dagster.yaml``) gives what DESIGN.md §4 promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster._core.instance import DagsterInstance

REPO = Path(__file__).resolve().parents[1]


def test_dagster_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs in range(1, 9)
        assert queue.tag_concurrency_limits == [
            {"key": "dsa/branch", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled
        instance.get_runs()
    assert (tmp_path / "history" / "runs.db").exists()  # SQLite storage under DAGSTER_HOME
