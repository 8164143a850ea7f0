"""Ref-management jobs on a real temporary Dagster instance and a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dsa_pipelines.defs import ref_jobs
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    """A store with dataset ``customers``: main at v2 (two uploads on top of the root)."""
    root = tmp_path / "store"
    with Store.open(root) as s:
        s.create_dataset("customers")
        for n in (2, 3):
            path = tmp_path / f"customers{n}.csv"
            pd.DataFrame({"id": range(n), "name": [f"c{i}" for i in range(n)]}).to_csv(path, index=False)
            s.commit("customers", path, table="customers", message=f"upload {n}")
    return root


def op_config(job: dg.JobDefinition, config: dict) -> dict:
    """Run config for a one-step ref job."""
    [step] = job.graph.node_dict
    return {"ops": {step: {"config": config}}}


def run(job: dg.JobDefinition, config: dict, root: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return job.execute_in_process(
        run_config=op_config(job, config),
        resources={"store": StoreResource(root=str(root))},
        instance=instance,
        raise_on_error=False,
    )


def failure(result: dg.ExecuteInProcessResult) -> str:
    assert not result.success
    [event] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return event.step_failure_data.user_failure_data.description


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


def refs(root: Path) -> dict[str, str]:
    with Store.open(root) as s:
        return {r.name: r.commit_id for r in s.branches("customers") + s.tags("customers")}


def test_create_branch_shows_the_move(store_root: Path, instance: dg.DagsterInstance) -> None:
    head = refs(store_root)["main"]
    with Store.open(store_root) as s:
        parent = s.resolve("customers", "main~1")
    result = run(ref_jobs.create_branch, {"dataset": "customers", "name": "fix/q3", "from_revision": "main~1"},
                 store_root, instance)
    assert result.success
    assert refs(store_root)["fix/q3"] == parent != head
    meta = output_metadata(result)
    assert meta["move"] == f"fix/q3: (none) → {parent[:12]}"
    tags = instance.get_run_by_id(result.run_id).tags
    assert (tags["dsa/ref"], tags["dsa/old"], tags["dsa/new"]) == ("fix/q3", "(none)", parent[:12])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"dataset": "nope", "name": "b"}, "dataset 'nope' does not exist"),
        ({"dataset": "customers", "name": "bad name"}, "invalid branch name 'bad name'"),
        ({"dataset": "customers", "name": "b", "from_revision": "main~9"}, "main~9"),
        ({"dataset": "customers", "name": "main"}, "already exists"),
    ],
    ids=["unknown-dataset", "invalid-name", "unknown-revision", "exists"],
)
def test_create_branch_bad_config_fails_and_changes_nothing(
    store_root: Path, instance: dg.DagsterInstance, config: dict, message: str
) -> None:
    before = refs(store_root)
    assert message in failure(run(ref_jobs.create_branch, config, store_root, instance))
    assert refs(store_root) == before


def test_delete_branch(store_root: Path, instance: dg.DagsterInstance) -> None:
    assert run(ref_jobs.create_branch, {"dataset": "customers", "name": "tmp"}, store_root, instance).success
    head = refs(store_root)["tmp"]
    result = run(ref_jobs.delete_branch, {"dataset": "customers", "name": "tmp", "reason": "done"}, store_root,
                 instance)
    assert result.success
    assert "tmp" not in refs(store_root)
    assert output_metadata(result)["move"] == f"tmp: {head[:12]} → (none)"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"dataset": "customers", "name": "main"}, "default branch"),
        ({"dataset": "customers", "name": "ghost"}, "branch 'ghost' does not exist"),
        ({"dataset": "nope", "name": "x"}, "dataset 'nope' does not exist"),
    ],
    ids=["default-branch", "unknown-branch", "unknown-dataset"],
)
def test_delete_branch_refusals(store_root: Path, instance: dg.DagsterInstance, config: dict, message: str) -> None:
    before = refs(store_root)
    assert message in failure(run(ref_jobs.delete_branch, config, store_root, instance))
    assert refs(store_root) == before


def test_create_tag_and_tags_never_move(store_root: Path, instance: dg.DagsterInstance) -> None:
    with Store.open(store_root) as s:
        v1 = s.resolve("customers", "v1")
    assert run(ref_jobs.create_tag, {"dataset": "customers", "name": "v1.0", "revision": "v1"}, store_root,
               instance).success
    assert refs(store_root)["v1.0"] == v1
    message = failure(run(ref_jobs.create_tag, {"dataset": "customers", "name": "v1.0"}, store_root, instance))
    assert "tag 'v1.0'" in message and "already exists" in message
    assert refs(store_root)["v1.0"] == v1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"dataset": "customers", "name": "v..1"}, "invalid tag name 'v..1'"),
        ({"dataset": "customers", "name": "v9", "revision": "deadbeef"}, "deadbeef"),
        ({"dataset": "nope", "name": "v9"}, "dataset 'nope' does not exist"),
    ],
    ids=["invalid-name", "unknown-revision", "unknown-dataset"],
)
def test_create_tag_bad_config(store_root: Path, instance: dg.DagsterInstance, config: dict, message: str) -> None:
    before = refs(store_root)
    assert message in failure(run(ref_jobs.create_tag, config, store_root, instance))
    assert refs(store_root) == before


def test_reset_branch_is_a_recorded_rollback(store_root: Path, instance: dg.DagsterInstance) -> None:
    head = refs(store_root)["main"]
    with Store.open(store_root) as s:
        previous = s.resolve("customers", "main~1")
    result = run(ref_jobs.reset_branch, {"dataset": "customers", "branch": "main", "revision": "main~1",
                                         "reason": "bad upload"}, store_root, instance)
    assert result.success
    assert refs(store_root)["main"] == previous
    assert output_metadata(result)["move"] == f"main: {head[:12]} → {previous[:12]}"
    with Store.open(store_root) as s:
        last = s.reflog("customers", "main", limit=1)[0]
    assert (last.old_commit, last.new_commit, last.reason) == (head, previous, "reset: bad upload")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"branch": "main", "revision": "main~1", "reason": ""}, "needs a reason"),
        ({"branch": "main", "revision": "nosuch", "reason": "x"}, "nosuch"),
        ({"branch": "ghost", "revision": "main~1", "reason": "x"}, "branch 'ghost' does not exist"),
        ({"dataset": "nope", "branch": "main", "revision": "main~1", "reason": "x"}, "dataset 'nope' does not exist"),
    ],
    ids=["no-reason", "unknown-revision", "unknown-branch", "unknown-dataset"],
)
def test_reset_branch_bad_config(store_root: Path, instance: dg.DagsterInstance, config: dict, message: str) -> None:
    before = refs(store_root)
    assert message in failure(run(ref_jobs.reset_branch, {"dataset": "customers", **config}, store_root, instance))
    assert refs(store_root) == before


def test_reset_branch_reason_is_required_config() -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="reason"):
        ref_jobs.reset_branch.execute_in_process(
            run_config=op_config(ref_jobs.reset_branch, {"dataset": "d", "branch": "main", "revision": "v1"}),
            resources={"store": StoreResource(root="unused")})


def test_update_dataset(store_root: Path, instance: dg.DagsterInstance) -> None:
    result = run(ref_jobs.update_dataset, {"dataset": "customers", "description": "CRM export",
                                           "drift_policy": "reject"}, store_root, instance)
    assert result.success
    with Store.open(store_root) as s:
        ds = s.get_dataset("customers")
    assert (ds.description, ds.drift_policy, ds.tags) == ("CRM export", "reject", ())
    meta = output_metadata(result)
    assert meta["drift_policy"] == "'warn' → 'reject'"
    assert meta["changed"] == "description, drift_policy"


def test_update_dataset_bad_config(store_root: Path, instance: dg.DagsterInstance) -> None:
    assert "dataset 'nope' does not exist" in failure(
        run(ref_jobs.update_dataset, {"dataset": "nope", "description": "x"}, store_root, instance))
    with pytest.raises(dg.DagsterInvalidConfigError, match="drift_policy"):
        ref_jobs.update_dataset.execute_in_process(
            run_config=op_config(ref_jobs.update_dataset, {"dataset": "customers", "drift_policy": "maybe"}),
            resources={"store": StoreResource(root=str(store_root))}, instance=instance)
    with Store.open(store_root) as s:
        assert s.get_dataset("customers").drift_policy == "warn"
