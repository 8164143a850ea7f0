"""The sample and sample_columns jobs on a real temporary Dagster instance and a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest

from dsa_pipelines.defs import sampling
from dsa_pipelines.defs.partitions import partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.sampling import list_samples, sampling_runs
from dsa_pipelines.storage import Store


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    n = 1000
    with Store.open(root) as s:
        s.create_dataset("pay")
        s.commit("pay", pa.table({
            "id": np.arange(n),
            "country": np.array(["DE", "FR", "IT", "ES"])[np.arange(n) % 4],
            "amount": np.arange(n) * 1.5,
        }), table="payments", message="upload")
    return root


def run(job: dg.JobDefinition, config: dict, root: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    op_name = job.graph.node_defs[0].name  # each sampling job is one op
    return job.execute_in_process(run_config={"ops": {op_name: {"config": config}}},
                                  resources={"store": StoreResource(root=str(root))}, instance=instance,
                                  raise_on_error=False)


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


SAMPLE_CONFIG = {
    "dataset": "pay", "name": "q3", "seed": 5,
    "rounds": [
        {"method": "stratified", "size": 40, "strata": ["country"], "min_per_stratum": 5},
        {"method": "weighted", "fraction": 0.05, "weight": "amount", "filter": "country in ('DE','FR')"},
        {"method": "systematic", "step": 25, "order_by": "amount"},
    ],
}


def test_sample_job_commits_rounds_and_registers_partitions(store_root: Path,
                                                            instance: dg.DagsterInstance) -> None:
    result = run(sampling.sample_job, SAMPLE_CONFIG, store_root, instance)
    assert result.success
    meta = output_metadata(result)
    with Store.open(store_root) as s:
        [info] = list_samples(s, "pay")
        [record] = sampling_runs(s, "pay")
        head = s.refs.get("pay", "samples/q3").commit_id
        source = s.resolve("pay", "main")
    assert [r.drawn for r in info.rounds] == [40, 24, 37]  # weighted: 5% of the 480 eligible DE/FR rows left
    keys = [partition_key(r.commit_id) for r in info.rounds]
    assert set(keys) <= set(instance.get_dynamic_partitions("commits"))
    assert meta["branch"] == "samples/q3" and meta["sample"] == "q3"
    assert meta["commits"] == ", ".join(keys) and keys[-1] == partition_key(head)
    assert meta["source_commit"] == partition_key(source)
    rows = meta["rounds"].records
    assert [(r.data["round"], r.data["method"], r.data["drawn"]) for r in rows] == [
        (1, "stratified", 40), (2, "weighted", 24), (3, "systematic", 37)]
    assert rows[-1].data["residual"] == 1000 - 101
    assert record.dagster_run_id == result.run_id and record.status == "succeeded"
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["dsa/sample"] == "q3" and tags["dsa/new"] == keys[-1]


def test_sample_job_continues_a_sample(store_root: Path, instance: dg.DagsterInstance) -> None:
    assert run(sampling.sample_job, SAMPLE_CONFIG, store_root, instance).success
    more = {**SAMPLE_CONFIG, "rounds": [{"method": "random", "size": 10}]}
    result = run(sampling.sample_job, more, store_root, instance)
    assert result.success
    [row] = output_metadata(result)["rounds"].records
    assert row.data["round"] == 4 and row.data["residual"] == 1000 - 111


def test_bad_config_fails_the_run_and_writes_nothing(store_root: Path, instance: dg.DagsterInstance) -> None:
    bad = {**SAMPLE_CONFIG, "rounds": [*SAMPLE_CONFIG["rounds"], {"method": "random", "size": 10,
                                                                  "filter": "amount >> 3"}]}
    result = run(sampling.sample_job, bad, store_root, instance)
    assert not result.success
    [event] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "round 4: filter 'amount >> 3' does not parse at position 8" in \
        event.step_failure_data.user_failure_data.description
    with Store.open(store_root) as s:
        assert s.refs.get("pay", "samples/q3") is None and list_samples(s, "pay") == []
    assert instance.get_dynamic_partitions("commits") == []


def test_sample_columns_job_shows_columns(store_root: Path, instance: dg.DagsterInstance) -> None:
    result = run(sampling.sample_columns_job, {"dataset": "pay", "revision": "main"}, store_root, instance)
    assert result.success
    meta = output_metadata(result)
    rows = {r.data["column"]: r.data for r in meta["columns"].records}
    assert rows["country"]["values"] == "DE, ES, FR, IT" and rows["country"]["distinct"] == 4
    assert rows["amount"]["values"] == "" and "weight" in rows["amount"]["use as"]
    assert meta["strata_candidates"] == "country"
    missing = run(sampling.sample_columns_job, {"dataset": "pay", "table": "nope"}, store_root, instance)
    assert not missing.success


def test_jobs_are_in_the_definitions() -> None:
    from dsa_pipelines.definitions import load  # noqa: PLC0415

    defs = load()
    job = defs.resolve_job_def("sample")
    assert job.description.startswith("Draw a multi-round sample")
    assert defs.resolve_job_def("sample_columns").name == "sample_columns"
    fields = job.get_config_schema_snapshot().all_config_snaps_by_key
    assert any(f.name == "rounds" for snap in fields.values() for f in (snap.fields or []))
