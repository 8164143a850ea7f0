"""The diff, merge, edit_rows and revert jobs, and "changes vs first parent" metadata, on a temporary instance."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dsa_pipelines.defs import changes, ingest
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store

FRAME = pd.DataFrame({"id": [1, 2, 3, 4], "amount": [10.0, 20.0, 30.0, 40.0], "note": list("abcd")})


@dataclass
class Harness:
    tmp: Path
    store: Store
    instance: dg.DagsterInstance
    defs: dg.Definitions

    def run(self, job: str, op: str, **config: object) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(job).execute_in_process(
            run_config={"ops": {op: {"config": config}}}, instance=self.instance, raise_on_error=False)

    def head(self, branch: str = "main") -> str:
        return self.store.resolve("c", branch)


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    (tmp_path / "expectations").mkdir()
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path / "expectations"))
    defs = dg.Definitions.merge(changes.defs, ingest.defs,
                                dg.Definitions(resources={"store": StoreResource(root=str(tmp_path / "store"))}))
    store = Store.open(tmp_path / "store")
    store.create_dataset("c")
    store.commit("c", FRAME, table="t", message="v1")
    store.set_table_key("c", "t", ["id"])
    store.create_branch("c", "dev")
    with dg.instance_for_test() as instance:
        yield Harness(tmp_path, store, instance, defs)
    store.close()


def _step_failure(result: dg.ExecuteInProcessResult) -> dg.Failure:
    return result.get_step_failure_events()[0].step_failure_data.user_failure_data


def test_diff_job_reports_summary_preview_and_html(harness: Harness):
    harness.store.edit("c", "main", update={2: {"amount": 25.0}}, add=[{"id": 9, "amount": 1.0, "note": "z"}])
    result = harness.run("diff", "diff_revisions", dataset="c", base="main~1", html_dir=str(harness.tmp / "d"))
    assert result.success
    outputs = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = outputs[0].event_specific_data.metadata
    assert metadata["rows changed"].value == 1 and metadata["rows added"].value == 1
    preview = metadata["changed rows: t"].value
    assert {r.data["change"] for r in preview.records} == {"~", "+"}
    assert any(r.data["amount"] == "20.0 → 25.0" for r in preview.records)
    assert Path(metadata["html diff"].value).read_text().count("class=\"modify\"") == 1


def test_merge_job_audits_then_publishes_and_registers_the_partition(harness: Harness):
    harness.store.edit("c", "dev", update={1: {"note": "A"}})
    harness.store.edit("c", "main", update={4: {"note": "D"}})
    ours = harness.head()
    result = harness.run("merge", "stage_merge", dataset="c", source="dev", into="main")
    assert result.success
    merged = harness.store.get_commit("c", "main")
    assert merged.parents == (ours, harness.head("dev")) and merged.run_id == result.run_id
    assert merged.short_id in harness.instance.get_dynamic_partitions("commits")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"schema_drift": True, "expectations": True}
    mat = result.get_asset_materialization_events()[0].materialization
    assert mat.metadata["rows changed"].value == 1  # changes vs first parent (ours)
    assert "| t | modified | 0 | 0 | 1 |" in mat.metadata["changes"].value


def test_merge_job_conflict_fails_with_the_table_and_moves_nothing(harness: Harness):
    harness.store.edit("c", "dev", update={1: {"amount": 11.0}})
    harness.store.edit("c", "main", update={1: {"amount": 12.0}})
    head = harness.head()
    result = harness.run("merge", "stage_merge", dataset="c", source="dev", into="main")
    assert not result.success
    failure = _step_failure(result)
    table = failure.metadata["conflicts"].value
    assert [(r.data["key"], r.data["column"], r.data["ours"], r.data["theirs"], r.data["kind"])
            for r in table.records] == [("1", "amount", "12", "11", "cell")]
    assert harness.head() == head
    ok = harness.run("merge", "stage_merge", dataset="c", source="dev", into="main", strategies={"amount": "max"})
    assert ok.success and harness.store.read_table("c").table.column("amount").to_pylist()[0] == 12.0


def test_merge_job_blocked_by_an_expectation_keeps_the_branch(harness: Harness):
    (harness.tmp / "expectations" / "c.json").write_text(json.dumps({"tables": {"t": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "max_value": 100}}]}}))
    harness.store.edit("c", "dev", update={1: {"amount": 1000.0}})
    harness.store.edit("c", "main", update={4: {"note": "D"}})
    head = harness.head()
    result = harness.run("merge", "stage_merge", dataset="c", source="dev", into="main")
    assert not result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()}["expectations"] is False
    assert harness.head() == head


def test_edit_rows_and_revert_jobs(harness: Harness):
    changes_file = harness.tmp / "changes.csv"
    changes_file.write_text("action,id,amount,note\nupdate,2,,B\nremove,3,,\nadd,7,70,g\n")
    before = harness.store.table_info("c", "main", "t").content_id
    result = harness.run("edit_rows", "edit_table_rows", dataset="c", changes_path=str(changes_file))
    assert result.success
    edited = harness.store.get_commit("c", "main")
    assert [r["id"] for r in harness.store.read_table("c").table.to_pylist()] == [1, 2, 4, 7]
    assert edited.short_id in harness.instance.get_dynamic_partitions("commits")
    mat = result.get_asset_materialization_events()[0].materialization
    assert (mat.metadata["rows added"].value, mat.metadata["rows removed"].value,
            mat.metadata["rows changed"].value) == (1, 1, 1)
    result = harness.run("revert", "revert_commit", dataset="c", commit=edited.id[:12])
    assert result.success
    assert harness.store.table_info("c", "main", "t").content_id == before
    bad = harness.run("edit_rows", "edit_table_rows", dataset="c", changes_path=str(harness.tmp / "missing.csv"))
    assert not bad.success and "does not exist" in _step_failure(bad).description


def test_ingest_commit_materialization_carries_changes_vs_first_parent(harness: Harness):
    path = harness.tmp / "t.csv"
    FRAME.assign(note=list("abcX")).to_csv(path, index=False)
    job = harness.defs.resolve_job_def("ingest")
    result = job.execute_in_process(run_config=ingest.ingest_run_config(ingest.IngestConfig(
        dataset="c", paths=[str(path)], table="t")), instance=harness.instance)
    meta = next(e.materialization.metadata for e in result.get_asset_materialization_events()
                if e.materialization.asset_key == dg.AssetKey("commit"))
    assert meta["rows changed"].value == 1 and meta["rows added"].value == 0
    record = meta["changed rows: t"].value.records[0]
    assert record.data["note"] == "d → X" and record.data["change"] == "~"
