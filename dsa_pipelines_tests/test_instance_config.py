"""The embedded instance config (``dagster.yaml``) gives what DESIGN.md §4 promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance import DagsterInstance
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext

from dsa_pipelines.defs.run_queue import BranchQueuedRunCoordinator, branch_tags

REPO = Path(__file__).resolve().parents[1]


def test_dagster_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert type(instance.run_coordinator) is BranchQueuedRunCoordinator
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs in range(1, 9)
        assert queue.tag_concurrency_limits == [
            {"key": "dsa/branch", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
        assert instance.run_monitoring_enabled
        assert not instance.telemetry_enabled
        instance.get_runs()
    assert (tmp_path / "history" / "runs.db").exists()  # SQLite storage under DAGSTER_HOME


def test_an_ingest_run_from_the_launchpad_gets_its_branch_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"ops": {"stage_upload": {"config": {"dataset": "sales", "paths": ["x.csv"], "branch": "fix"}}}}
    assert branch_tags("ingest", config) == {"dsa/branch": "sales/fix"}
    assert branch_tags("ingest", {"ops": {"stage_upload": {"config": {"dataset": "sales"}}}}) == {
        "dsa/branch": "sales/main"}
    assert branch_tags("ingest", {}) == {} and branch_tags("sample", config) == {}

    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    from dsa_pipelines.defs.ingest import ingest_job

    origin = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("here"), "__repository__"), "ingest")
    with DagsterInstance.get() as instance:
        untagged = instance.create_run_for_job(ingest_job, run_config=config, remote_job_origin=origin)
        tagged = instance.create_run_for_job(ingest_job, run_config=config, tags={"dsa/branch": "mine"},
                                             remote_job_origin=origin)
        for run in (untagged, tagged):  # what instance.submit_run does for a launchpad run
            instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))
        assert instance.get_run_by_id(untagged.run_id).tags["dsa/branch"] == "sales/fix"
        assert instance.get_run_by_id(tagged.run_id).tags["dsa/branch"] == "mine"  # a given tag is kept
        assert instance.get_run_by_id(untagged.run_id).status == dg.DagsterRunStatus.QUEUED
