"""Access jobs, the run's user, and the datasets overview, on a real temporary Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dsa_pipelines.defs import access as access_defs
from dsa_pipelines.defs import ref_jobs
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store
from dsa_pipelines_tests.defs.test_ref_jobs import failure, op_config


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """``customers`` owned by ``ana`` (the store's first user, an admin); ``bo`` registered, no grants."""
    root = tmp_path / "store"
    with Store.open(root, user="ana") as s:
        s.create_dataset("customers", description="CRM export", tags=["crm"])
        s.commit("customers", {"t": pd.DataFrame({"v": [1, 2]})})
        s.create_user("bo")
    return root


def run(job: dg.JobDefinition, config: dict, root: Path, instance: dg.DagsterInstance, *, tags: dict | None = None,
        user: str = "") -> dg.ExecuteInProcessResult:
    return job.execute_in_process(run_config=op_config(job, config), instance=instance, raise_on_error=False,
                                  resources={"store": StoreResource(root=str(root), user=user)}, tags=tags)


def test_a_run_acts_as_its_dagster_user(root: Path, instance: dg.DagsterInstance):
    refused = run(access_defs.grant_permission, {"dataset": "customers", "user": "bo", "level": "admin"}, root,
                  instance, tags={"dagster/user": "bo"})
    assert "grant refused: user 'bo' may not grant on dataset 'customers': it needs admin" in failure(refused)
    granted = run(access_defs.grant_permission, {"dataset": "customers", "user": "bo", "level": "write"}, root,
                  instance, tags={"dagster/user": "ana"}, user="bo")  # the tag wins over the setting
    assert granted.success
    with Store.open(root, user="ana") as s:
        [ok, denied] = s.audit_log(dataset="customers", action="grant")[:2]
        assert (ok.user, ok.outcome, ok.run_id) == ("ana", "ok", granted.run_id)
        assert (denied.user, denied.outcome, denied.run_id) == ("bo", "denied", refused.run_id)
        assert [(g.user, g.level) for g in s.permissions("customers").grants] == [("ana", "admin"), ("bo", "write")]
    # without a tag, the resource's user setting; every job is checked, not only the access ones
    reset = run(ref_jobs.reset_branch, {"dataset": "customers", "branch": "main", "revision": "main~1",
                                        "reason": "undo"}, root, instance, user="bo")
    assert "may not reset_branch" in failure(reset) and "needs admin" in failure(reset)


def test_protect_and_revoke_jobs(root: Path, instance: dg.DagsterInstance):
    assert run(access_defs.protect_branch, {"dataset": "customers"}, root, instance, user="ana").success
    with Store.open(root, user="ana") as s:
        assert [p.branch for p in s.protections("customers")] == ["main"]
        s.grant("customers", "bo", "read")
    assert run(access_defs.revoke_permission, {"dataset": "customers", "user": "bo"}, root, instance,
               user="ana").success
    last = run(access_defs.revoke_permission, {"dataset": "customers", "user": "ana"}, root, instance, user="ana")
    assert "last admin" in failure(last)
    assert run(access_defs.protect_branch, {"dataset": "customers", "remove": True}, root, instance,
               user="ana").success
