"""Statistics, drift check, profile, head-assets job and refresh schedule on a real instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from dsa_pipelines import definitions, settings
from dsa_pipelines.defs import statistics
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.defs.statistics import HEAD_ASSETS_JOB, REFRESH_JOB, statistics_refresh
from dsa_pipelines.quality.statistics import store_statistics
from dsa_pipelines.storage import Store

pytestmark = [
    pytest.mark.filterwarnings(r"ignore:\s*`import ydata_profiling` is deprecated:DeprecationWarning"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store") as s:
        yield s


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def bound(store: Store) -> dg.Definitions:
    return dg.Definitions.merge(statistics.defs,
                                dg.Definitions(resources={"store": StoreResource(root=str(store.root))}))


def table(seed: int, shift: float = 0.0, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.normal(100 + shift, 10, n), "kind": rng.choice(["x", "y"], n)})


def run(store: Store, instance: dg.DagsterInstance, job: str, key: str, **kwargs) -> dg.ExecuteInProcessResult:
    if not instance.has_dynamic_partition(commits_partitions.name, key):
        instance.add_dynamic_partitions(commits_partitions.name, [key])
    return bound(store).resolve_job_def(job).execute_in_process(partition_key=key, instance=instance, **kwargs)


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    return event.step_materialization_data.materialization.metadata


def check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    [evaluation] = [e.asset_check_evaluation_data for e in result.all_events
                    if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    return evaluation


def test_head_assets_materialise_statistics_profile_and_drift(store: Store, instance: dg.DagsterInstance) -> None:
    store.create_dataset("shop")
    commit = store.commit("shop", {"orders": table(1), "refunds": table(2, n=30)}, message="v1")
    result = run(store, instance, HEAD_ASSETS_JOB, commit.short_id,
                 run_config={"ops": {"commit_profile": {"config": {"sample_rows": 100}}}})
    assert result.success
    stats = metadata(result, "commit_statistics")
    assert stats["commit"].value == commit.commit_id and stats["rows"].value == 530
    for name in ("orders", "refunds"):
        records = stats[f"statistics: {name}"].records
        assert [r.data["column"] for r in records] == ["amount", "kind"]
    amount = stats["statistics: orders"].records[0].data
    assert amount["kind"] == "numeric" and amount["mean"] == pytest.approx(table(1)["amount"].mean(), rel=1e-6)
    profile = metadata(result, "commit_profile")
    orders_report = Path(profile["report: orders"].value)
    assert orders_report.exists() and "amount" in orders_report.read_text(encoding="utf-8")
    refunds_report = Path(profile["report: refunds"].value).relative_to(store.reports_root()).as_posix()
    assert profile["report url: refunds"].value == f"{settings.current().reports_url}/{refunds_report}"
    rows = {r.data["table"]: r.data for r in profile["profiles"].records}
    assert (rows["orders"]["rows"], rows["orders"]["profiled rows"]) == (500, 100)
    evaluation = check(result)
    assert evaluation.check_name == "statistical_drift" and evaluation.passed  # first commit: tables added
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    # the run stored the statistics: reading them now returns what it showed, not a recomputation
    assert store_statistics(store, "shop", commit.commit_id)["orders"].computed_at in stats["tables"].value


def test_drift_check_warns_on_a_shifted_distribution(store: Store, instance: dg.DagsterInstance) -> None:
    store.create_dataset("shop")
    store.commit("shop", {"orders": table(1)}, message="v1")
    quiet = store.commit("shop", {"orders": table(2)}, message="resampled")
    loud = store.commit("shop", {"orders": table(3, shift=25)}, message="shifted")
    calm = check(run(store, instance, REFRESH_JOB, quiet.short_id))
    assert calm.passed
    result = run(store, instance, REFRESH_JOB, loud.short_id)
    assert result.success  # a WARN check never fails the run
    warned = check(result)
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "orders.amount (significant)" in warned.description
    assert "**significant**" in warned.metadata["report"].value
    assert warned.metadata["base"].value == quiet.commit_id


def test_an_unknown_partition_fails_with_a_clear_message(store: Store, instance: dg.DagsterInstance) -> None:
    store.create_dataset("shop")
    result = run(store, instance, REFRESH_JOB, "abcdefabcdef", raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "no commit 'abcdefabcdef'" in failure.step_failure_data.error.message


def test_refresh_schedule_requests_commits_without_statistics(store: Store, instance: dg.DagsterInstance) -> None:
    assert statistics_refresh.default_status == dg.DefaultScheduleStatus.STOPPED
    store.create_dataset("shop")
    one = store.commit("shop", {"orders": table(1)}, message="v1")
    two = store.commit("shop", {"orders": table(2)}, message="v2")
    resources = {"store": StoreResource(root=str(store.root))}
    with dg.build_schedule_context(instance=instance, resources=resources,
                                   repository_def=bound(store).get_repository_def()) as context:
        data = statistics_refresh.evaluate_tick(context)
    keys = [r.partition_key for r in data.run_requests]
    assert keys == [two.short_id, one.short_id]  # newest first; the empty root needs none
    assert set(keys) <= set(instance.get_dynamic_partitions(commits_partitions.name))
    assert statistics_refresh.job_name == REFRESH_JOB
    # a commit whose statistics run is still going is not requested again
    instance.add_run(dg.DagsterRun(job_name=REFRESH_JOB, run_id="0" * 36, status=dg.DagsterRunStatus.STARTED,
                                   tags={"dagster/partition": two.short_id}))
    with dg.build_schedule_context(instance=instance, resources=resources,
                                   repository_def=bound(store).get_repository_def()) as context:
        assert [r.partition_key for r in statistics_refresh.evaluate_tick(context).run_requests] == [one.short_id]
    store_statistics(store, "shop", one.commit_id)
    store_statistics(store, "shop", two.commit_id)
    with dg.build_schedule_context(instance=instance, resources=resources,
                                   repository_def=bound(store).get_repository_def()) as context:
        data = statistics_refresh.evaluate_tick(context)
    assert data.run_requests == [] and "every commit has statistics" in data.skip_message


def test_the_feature_is_wired_into_the_code_location() -> None:
    assert {HEAD_ASSETS_JOB, REFRESH_JOB} <= {j.name for j in definitions.load().resolve_all_job_defs()}
    loaded = dg.Definitions.merge(statistics.defs, dg.Definitions(resources={"store": StoreResource()}))
    assert {HEAD_ASSETS_JOB, REFRESH_JOB} <= {j.name for j in loaded.resolve_all_job_defs()}
    assert loaded.resolve_schedule_def("statistics_refresh").job_name == REFRESH_JOB
    assert partition_key("AB" * 32) == "abababababab"
