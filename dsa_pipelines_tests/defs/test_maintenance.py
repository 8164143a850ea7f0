"""Maintenance jobs on a real temporary Dagster instance and a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dsa_pipelines.defs import maintenance
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import DatasetDeleted, Store
from dsa_pipelines_tests.defs.test_ref_jobs import failure, output_metadata
from dsa_pipelines_tests.storage.gc_helpers import rows


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def store_root(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "store"
    with Store.open(root) as s:
        s.create_dataset("ds")
        ids = {"main": s.commit("ds", rows(0, 100), table="t").commit_id}
        s.create_branch("ds", "tmp")
        ids["tmp"] = s.commit("ds", rows(500, 600), table="t", branch="tmp").commit_id
        s.delete_branch("ds", "tmp")
    return root, ids


def run(job: dg.JobDefinition, config: dict, root: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    [step] = job.graph.node_dict
    return job.execute_in_process(run_config={"ops": {step: {"config": config}}},
                                  resources={"store": StoreResource(root=str(root))}, instance=instance,
                                  raise_on_error=False)


def test_gc_reports_tables_and_deletes_partitions_of_collected_commits(store_root, instance) -> None:
    root, ids = store_root
    instance.add_dynamic_partitions(commits_partitions.name, [partition_key(c) for c in ids.values()])
    dry = run(maintenance.garbage_collection, {"dry_run": True, "grace_hours": 0, "retention_days": 0}, root,
              instance)
    assert dry.success and output_metadata(dry)["commits_removed"] == 1
    assert instance.has_dynamic_partition(commits_partitions.name, partition_key(ids["tmp"]))
    result = run(maintenance.garbage_collection, {"grace_hours": 0, "retention_days": 0}, root, instance)
    assert result.success
    meta = output_metadata(result)
    assert meta["commits_removed"] == 1 and meta["bytes_freed"] > 0 and meta["partitions_deleted"] == 1
    kinds = {r.data["kind"]: r.data for r in meta["objects"].records}
    assert kinds["packs"]["removed"] == 1 and kinds["commits"]["kept"] == 2
    assert {r.data["phase"] for r in meta["phases"].records} >= {"mark", "sweep_catalog"}
    assert not instance.has_dynamic_partition(commits_partitions.name, partition_key(ids["tmp"]))
    assert instance.has_dynamic_partition(commits_partitions.name, partition_key(ids["main"]))


def test_fsck_fails_visibly_when_the_store_is_broken(store_root, instance) -> None:
    root, ids = store_root
    ok = run(maintenance.fsck, {"deep": True}, root, instance)
    assert ok.success and output_metadata(ok)["rows_rehashed"] == 200
    with Store.open(root) as s:
        pack = s.manifest("ds", ids["main"], "t").packs[0]
        s.objects.path("packs", pack).unlink()
    broken = run(maintenance.fsck, {}, root, instance)
    message = failure(broken)
    assert "1 problem(s)" in message and "missing_object" in message and pack in message


def test_delete_and_restore_dataset_jobs(store_root, instance) -> None:
    root, _ = store_root
    assert run(maintenance.delete_dataset, {"dataset": "ds", "reason": "test", "actor": "ana"}, root,
               instance).success
    with Store.open(root) as s, pytest.raises(DatasetDeleted):
        s.get_dataset("ds")
    again = run(maintenance.delete_dataset, {"dataset": "ds", "reason": "again"}, root, instance)
    assert "deleted by ana" in failure(again)
    assert run(maintenance.restore_dataset, {"dataset": "ds"}, root, instance).success
    with Store.open(root) as s:
        assert s.get_dataset("ds").name == "ds"


def test_schedules_are_on_by_default() -> None:
    for schedule in (maintenance.weekly_garbage_collection, maintenance.daily_fsck):
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert maintenance.weekly_garbage_collection.job_name == "garbage_collection"
    assert maintenance.daily_fsck.job_name == "fsck"
