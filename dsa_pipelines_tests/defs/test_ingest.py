"""The ``ingest`` job (write-audit-publish) on a real temporary Dagster instance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dsa_pipelines.defs import audits, commit_metadata, ingest
from dsa_pipelines.defs.audits import DRIFT_CHECK, EXPECTATIONS_CHECK
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = pd.DataFrame({"customer_id": [1, 2, 3], "email": ["a@x.io", "b@x.io", "c@x.io"],
                          "lifetime_value": [10.0, 20.5, 0.0]})


@dataclass
class Harness:
    """A store, a Dagster instance and the ingest job bound to that store."""

    tmp: Path
    store: Store
    instance: dg.DagsterInstance
    job: dg.JobDefinition

    def csv(self, name: str, frame: pd.DataFrame) -> str:
        path = self.tmp / name
        frame.to_csv(path, index=False)
        return str(path)

    def suite(self, dataset: str, expectations: list[dict]) -> None:
        (self.tmp / "expectations" / f"{dataset}.json").write_text(
            json.dumps({"tables": {dataset: expectations}}), encoding="utf-8")

    def run(self, **config: object) -> dg.ExecuteInProcessResult:
        config.setdefault("dataset", "customers")
        config.setdefault("table", "customers")
        return self.job.execute_in_process(
            run_config=ingest.ingest_run_config(ingest.IngestConfig(**config)), instance=self.instance,
            tags=ingest.ingest_run_tags(str(config["dataset"]), str(config.get("branch", "main"))),
            raise_on_error=False)

    def head(self, dataset: str = "customers", branch: str = "main") -> str:
        return self.store.get_ref(dataset, branch).commit_id

    def tags(self, result: dg.ExecuteInProcessResult) -> dict[str, str]:
        return dict(self.instance.get_run_by_id(result.run_id).tags)

    def partitions(self) -> list[str]:
        return self.instance.get_dynamic_partitions("commits")


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    (tmp_path / "expectations").mkdir()
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path / "expectations"))
    resource = StoreResource(root=str(tmp_path / "store"))
    job = dg.Definitions.merge(ingest.defs, dg.Definitions(resources={"store": resource})).resolve_job_def("ingest")
    store = Store.open(tmp_path / "store")
    with dg.instance_for_test() as instance:
        yield Harness(tmp_path, store, instance, job)
    store.close()


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _failure(result: dg.ExecuteInProcessResult) -> str:
    failures = result.get_step_failure_events()
    assert failures, "expected a failed step"
    return failures[0].step_failure_data.user_failure_data.description


# ------------------------------------------------------------------ publish


def test_passing_audits_publish_and_report(harness: Harness) -> None:
    harness.suite("customers", [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "customer_id"}}])
    result = harness.run(paths=[harness.csv("c.csv", CUSTOMERS)], message="first", author="ana")
    assert result.success
    key = harness.tags(result)[ingest.COMMIT_TAG]
    assert harness.tags(result)[ingest.STATUS_TAG] == "published"
    assert harness.tags(result)[ingest.BRANCH_TAG] == "customers/main"
    commit = harness.store.get_commit("customers", "main")
    assert commit.short_id == key and commit.run_id == result.run_id and commit.author == "ana"
    assert harness.partitions() == [commit.parents[0][:12], key]  # the new dataset's root commit first
    assert harness.store.get_dataset("customers").description.startswith("Ingested from c.csv")

    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    commit_mat = mats["commit"].materialization
    assert commit_mat.partition == key
    meta = commit_mat.metadata
    assert meta["commit_id"].value == commit.id and meta["status"].value == "staged"
    assert meta["new_rows"].value == 3 and meta["reused_rows"].value == 0
    assert meta["dagster_run_id"].value == result.run_id
    assert "| customers | 3 | 3 | 0 | changed |" in meta["tables"].value
    schema = mats["commit_schema"].materialization.metadata["schema: customers"].value
    assert [(c.name, c.constraints.nullable) for c in schema.columns] == [
        ("customer_id", False), ("email", False), ("lifetime_value", False)]

    checks = _checks(result)
    assert checks[DRIFT_CHECK].passed and checks[DRIFT_CHECK].partition == key
    assert "First data" in checks[DRIFT_CHECK].metadata["drift report"].value
    assert checks[EXPECTATIONS_CHECK].passed and checks[EXPECTATIONS_CHECK].metadata["evaluated"].value == 1
    # Each result targets the partition's commit materialization: the UI counts it as current.
    infos = harness.instance.event_log_storage.get_asset_check_partition_info(
        [dg.AssetCheckKey(dg.AssetKey("commit"), name) for name in (DRIFT_CHECK, EXPECTATIONS_CHECK)],
        partition_keys=[key])
    assert len(infos) == 2 and all(i.is_current and i.latest_target_materialization_storage_id for i in infos)
    published = result.output_for_node("publish_commit")
    assert published is None
    reflog = harness.store.reflog("customers", "main")
    assert reflog[0].new_commit == commit.id and result.run_id in reflog[0].reason


def test_excel_workbook_is_one_commit_with_two_tables(harness: Harness) -> None:
    result = harness.run(dataset="sales", table=None, paths=[str(REPO / "data" / "samples" / "sales.xlsx")])
    assert result.success
    commit = harness.store.get_commit("sales", "main")
    assert sorted(commit.tables) == ["orders", "products"]
    schema_meta = next(m for m in result.get_asset_materialization_events()
                       if m.asset_key == dg.AssetKey("commit_schema")).materialization.metadata
    assert {"schema: orders", "schema: products"} <= set(schema_meta)


def test_no_changes_moves_nothing_and_makes_no_partition(harness: Harness) -> None:
    path = harness.csv("c.csv", CUSTOMERS)
    assert harness.run(paths=[path]).success
    head, partitions = harness.head(), harness.partitions()
    again = harness.run(paths=[path])
    assert again.success
    assert harness.tags(again)[ingest.STATUS_TAG] == "no_changes"
    assert ingest.COMMIT_TAG not in harness.tags(again)
    assert {e.step_key for e in again.get_step_skipped_events()} == {"audit_commit", "publish_commit"}
    assert harness.head() == head and harness.partitions() == partitions
    assert again.get_asset_materialization_events() == []


# -------------------------------------------------------------------- audits


def _drifting_upload(harness: Harness, policy: str) -> tuple[str, dg.ExecuteInProcessResult]:
    assert harness.run(paths=[harness.csv("c.csv", CUSTOMERS)]).success
    harness.store.update_dataset("customers", drift_policy=policy)
    before = harness.head()
    drifted = CUSTOMERS.drop(columns=["email"]).assign(segment=["a", "b", "c"])
    return before, harness.run(paths=[harness.csv("c2.csv", drifted)])


def test_drift_reject_blocks_publish_and_keeps_the_commit(harness: Harness) -> None:
    before, result = _drifting_upload(harness, "reject")
    assert not result.success
    assert harness.head() == before
    key = harness.tags(result)[ingest.COMMIT_TAG]
    staged = harness.store.get_commit("customers", key)
    assert staged.parents == (before,) and staged.run_id == result.run_id
    assert key in harness.partitions()
    check = _checks(result)[DRIFT_CHECK]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR and check.partition == key
    report = check.metadata["drift report"].value
    assert "| customers | email | column removed |" in report and "| customers | segment | column added |" in report
    assert {e.step_key for e in result.get_step_success_events()} == {"stage_upload"}
    assert result.get_failed_step_keys() == {"audit_commit"}
    message = _failure(result)
    assert "audit failed" in message and f"stays at {before[:12]}" in message and key in message


def test_drift_warn_publishes_with_a_warning(harness: Harness) -> None:
    before, result = _drifting_upload(harness, "warn")
    assert result.success
    check = _checks(result)[DRIFT_CHECK]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert harness.head() != before and harness.head()[:12] == harness.tags(result)[ingest.COMMIT_TAG]


def test_drift_allow_passes_with_the_report(harness: Harness) -> None:
    before, result = _drifting_upload(harness, "allow")
    assert result.success and harness.head() != before
    check = _checks(result)[DRIFT_CHECK]
    assert check.passed and check.metadata["changes"].value == 2
    assert "column removed" in check.metadata["drift report"].value


def test_failing_expectation_blocks_publish(harness: Harness) -> None:
    assert harness.run(paths=[harness.csv("c.csv", CUSTOMERS)]).success
    before = harness.head()
    harness.suite("customers", [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "lifetime_value", "min_value": 0}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}},
    ])
    bad = CUSTOMERS.assign(lifetime_value=[10.0, -5.0, -7.25])
    result = harness.run(paths=[harness.csv("bad.csv", bad)])
    assert not result.success and harness.head() == before
    check = _checks(result)[EXPECTATIONS_CHECK]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["failed"].value == 1
    assert check.metadata["failed expectations"].value == "customers.lifetime_value:expect_column_values_to_be_between"
    assert "`-5.0`, `-7.25`" in check.metadata["summary"].value
    assert _checks(result)[DRIFT_CHECK].passed
    assert harness.store.get_commit("customers", harness.tags(result)[ingest.COMMIT_TAG]).row_count == 3


def test_unusable_suite_blocks_publish(harness: Harness) -> None:
    (harness.tmp / "expectations" / "customers.json").write_text("{oops", encoding="utf-8")
    result = harness.run(paths=[harness.csv("c.csv", CUSTOMERS)])
    assert not result.success
    assert harness.head() == harness.store.log("customers")[-1].commit.id  # still version 0
    check = _checks(result)[EXPECTATIONS_CHECK]
    assert not check.passed and "customers.json is not valid JSON" in check.description


# ---------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"paths": ["/no/such/file.csv"]}, "/no/such/file.csv: file does not exist"),
        ({"paths": []}, "no files given"),
        ({"branch": "bad..name"}, "contains '..'"),
        ({"dataset": "bad name"}, "bad name"),
        ({"create_dataset_if_missing": False}, "dataset 'customers' does not exist"),
        ({"branch": "dev"}, "branch 'dev' does not exist"),
    ],
)
def test_bad_config_fails_at_once_and_changes_nothing(harness: Harness, config: dict, words: str) -> None:
    config.setdefault("paths", [harness.csv("c.csv", CUSTOMERS)])
    result = harness.run(**config)
    assert not result.success
    assert result.get_failed_step_keys() == {"stage_upload"}
    message = _failure(result)
    assert message.startswith("upload rejected: ") and words in message
    assert harness.partitions() == []
    assert harness.store.list_datasets() == []


def test_missing_branch_of_an_existing_dataset_changes_nothing(harness: Harness) -> None:
    path = harness.csv("c.csv", CUSTOMERS)
    assert harness.run(paths=[path]).success
    head = harness.head()
    result = harness.run(paths=[harness.csv("c2.csv", CUSTOMERS.head(1))], branch="dev")
    assert not result.success
    assert "branch 'dev' does not exist in dataset 'customers'" in _failure(result)
    assert harness.head() == head and len(harness.partitions()) == 2  # the first upload and its root
    assert [e.version for e in harness.store.log("customers")] == [1, 0]


def test_unreadable_file_creates_no_dataset(harness: Harness) -> None:
    path = harness.tmp / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    result = harness.run(paths=[str(path)])
    assert not result.success
    assert "broken.parquet" in _failure(result)
    assert harness.store.list_datasets() == []


# -------------------------------------------------------------- publish race


def test_publish_loses_a_race_cleanly(harness: Harness) -> None:
    assert harness.run(paths=[harness.csv("c.csv", CUSTOMERS)]).success
    staged = harness.store.commit("customers", harness.csv("c2.csv", CUSTOMERS.head(2)), table="customers",
                                  publish=False)
    harness.store.commit("customers", harness.csv("c3.csv", CUSTOMERS.head(1)), table="customers")  # moves main
    moved = harness.head()
    resources = {"store": StoreResource(root=str(harness.tmp / "store"))}
    with dg.build_op_context(resources=resources, instance=harness.instance) as context, \
            pytest.raises(dg.Failure, match="moved since .* was staged"):
        list(ingest.publish_commit(context, {"dataset": "customers", "branch": "main", "author": "t",
                                             "commit_id": staged.commit_id, "partition": staged.short_id}))
    assert harness.head() == moved


# ------------------------------------------------------------- re-audit check


def test_checks_can_re_audit_an_existing_partition(harness: Harness) -> None:
    before, result = _drifting_upload(harness, "reject")
    key = harness.tags(result)[ingest.COMMIT_TAG]
    resource = StoreResource(root=str(harness.tmp / "store"))
    reaudit = dg.define_asset_job("reaudit", selection=dg.AssetSelection.checks_for_assets("commit"))
    defs = dg.Definitions.merge(ingest.defs, dg.Definitions(
        assets=[commit_metadata.commit_asset, commit_metadata.commit_schema_asset],
        asset_checks=[audits.schema_drift_check, audits.expectations_check], jobs=[reaudit],
        resources={"store": resource}))
    run = defs.resolve_job_def("reaudit").execute_in_process(instance=harness.instance, tags={"dagster/partition": key},
                                                             raise_on_error=False)
    checks = _checks(run)
    assert not checks[DRIFT_CHECK].passed and checks[DRIFT_CHECK].severity == dg.AssetCheckSeverity.ERROR
    assert checks[EXPECTATIONS_CHECK].passed
    assert harness.head() == before
