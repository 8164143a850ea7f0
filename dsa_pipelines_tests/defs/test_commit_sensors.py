"""Catalog sensors: commits → partitions (+ external materializations), branch heads → runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dsa_pipelines.defs import commit_sensors, ingest, statistics
from dsa_pipelines.defs.commit_sensors import branch_heads_sensor, catalog_commits_sensor
from dsa_pipelines.defs.ingest import IngestConfig, ingest_job, ingest_run_config
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.defs.statistics import HEAD_ASSETS_JOB
from dsa_pipelines.storage import Store
from dsa_pipelines_tests.storage.helpers import people


def definitions(store: Store) -> dg.Definitions:
    """The features these sensors work with, bound to a store."""
    return dg.Definitions.merge(ingest.defs, statistics.defs, commit_sensors.defs,
                                dg.Definitions(resources={"store": StoreResource(root=str(store.root))}))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store") as s:
        yield s


class Ticker:
    """Evaluates a sensor tick after tick with the store resource, carrying the cursor."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, store: Store) -> None:
        self.sensor, self.instance, self.cursor = sensor, instance, None
        self.resources = {"store": StoreResource(root=str(store.root))}
        self.definitions = definitions(store)

    def tick(self):  # noqa: ANN201 — SensorExecutionData
        # instance_ref: the partitioned run requests are validated against the instance's partitions
        with dg.build_sensor_context(instance=self.instance, instance_ref=self.instance.get_ref(),
                                     cursor=self.cursor, resources=self.resources,
                                     definitions=self.definitions) as context:
            data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return data


def added_keys(data, name: str = commits_partitions.name) -> list[str]:  # noqa: ANN001
    return [k for r in data.dynamic_partitions_requests if r.partitions_def_name == name for k in r.partition_keys]


def values(event: dg.AssetMaterialization) -> dict:
    return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def test_external_commits_become_partitions_and_materializations(
    store: Store, instance: dg.DagsterInstance
) -> None:
    ticker = Ticker(catalog_commits_sensor, instance, store)
    store.create_dataset("customers")
    result = store.commit("customers", {"people": people(5)}, message="from a notebook", author="ann")
    data = ticker.tick()
    root = store.resolve("customers", "main~1")
    assert added_keys(data) == [partition_key(root), result.short_id]
    assert added_keys(data, "dataset:customers") == [f"v0-{partition_key(root)}", f"v1-{result.short_id}"]
    by_key = {(e.asset_key, e.partition): e for e in data.asset_events}
    event = by_key[(dg.AssetKey("commit"), result.short_id)]
    meta = values(event)
    assert (meta["dataset"], meta["author"], meta["message"], meta["branch"], meta["version"]) == (
        "customers", "ann", "from a notebook", "main", "v1")
    assert meta["parents"] == root[:12] and meta["dagster/row_count"] == 5 and meta["status"] == "published"
    assert (meta["new_rows"], meta["reused_rows"]) == (5, 0)  # the catalog's counts, not zeros
    assert values(by_key[(dg.AssetKey(["datasets", "customers"]), f"v1-{result.short_id}")]) == meta
    assert (dg.AssetKey("commit_schema"), result.short_id) in by_key
    overview = values(by_key[(dg.AssetKey("datasets"), None)])
    assert overview["dataset count"] == 1
    [row] = overview["datasets"].records
    assert (row.data["dataset"], row.data["latest version"], row.data["rows"]) == (
        "customers", f"v1 ({result.short_id})", 5)

    again = ticker.tick()  # cursor advanced: each commit once
    assert again.dynamic_partitions_requests == [] and again.asset_events == []
    assert again.skip_message == "no new commits"

    for request in data.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    second = store.commit("customers", {"people": people(6)}, author="bob")  # 5 rows reused, 1 new
    staged = store.commit("customers", {"people": people(2)}, publish=False, author="bob")
    data = ticker.tick()
    assert added_keys(data) == [second.short_id, staged.short_id]
    events = {e.partition: values(e) for e in data.asset_events if e.asset_key == dg.AssetKey("commit")}
    assert (events[second.short_id]["new_rows"], events[second.short_id]["reused_rows"]) == (1, 5)
    assert events[second.short_id]["status"] == "published" and events[staged.short_id]["status"] == "staged"


def test_commits_made_by_a_dagster_run_only_get_their_partition(
    store: Store, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path / "no-suites"))  # hermetic: no repo suites
    ticker = Ticker(catalog_commits_sensor, instance, store)
    path = tmp_path / "people.csv"
    people(4).to_csv(path, index=False)
    run = ingest_job.execute_in_process(
        run_config=ingest_run_config(IngestConfig(dataset="customers", paths=[str(path)])),
        resources={"store": StoreResource(root=str(store.root))}, instance=instance)
    assert run.success
    head = store.get_commit("customers", "main")
    assert head.run_id == run.run_id
    data = ticker.tick()
    assert partition_key(head.id) not in added_keys(data)  # the ingest run registered it already
    commit_events = [e.partition for e in data.asset_events if e.asset_key == dg.AssetKey("commit")]
    assert commit_events == [partition_key(head.parents[0])]  # the root: external
    assert added_keys(data) == [] and added_keys(data, "dataset:customers") == []  # the run added both, in order
    assert instance.get_dynamic_partitions("dataset:customers") == [
        f"v0-{partition_key(head.parents[0])}", f"v1-{partition_key(head.id)}"]


def test_branch_heads_request_the_head_assets_once_per_commit(store: Store, instance: dg.DagsterInstance) -> None:
    store.create_dataset("customers")
    store.commit("customers", {"people": people(3)})
    before = store.commit("customers", {"people": people(2)})
    ticker = Ticker(branch_heads_sensor, instance, store)
    first = ticker.tick()  # the heads made before the sensor started get their assets too
    assert [r.partition_key for r in first.run_requests] == [before.short_id]
    assert added_keys(first) == [before.short_id]
    assert ticker.tick().run_requests == []

    store.create_dataset("orders")  # an empty root commit: nothing to describe
    one = store.commit("customers", {"people": people(4)})
    two = store.commit("customers", {"people": people(5)})
    store.create_branch("customers", "feature/x")  # same head as main: one request
    data = ticker.tick()
    [request] = data.run_requests
    assert (request.partition_key, request.run_key) == (two.short_id, f"{HEAD_ASSETS_JOB}:{two.short_id}")
    assert request.tags["dsa/dataset"] == "customers"
    assert added_keys(data) == [two.short_id]
    assert ticker.tick().run_requests == []

    store.reset_branch("customers", "main", one.commit_id, reason="rollback")
    [request] = ticker.tick().run_requests
    assert request.partition_key == one.short_id and request.tags["dsa/head_of"] == "customers/main"
    assert branch_heads_sensor.job_name == HEAD_ASSETS_JOB


def test_the_first_tick_backfills_branch_heads_a_bounded_number_at_a_time(
    store: Store, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commit_sensors, "HEADS_PER_TICK", 2)
    heads = []
    for name in ("a", "b", "c"):
        store.create_dataset(name)
        heads.append(store.commit(name, {"people": people(3)}).short_id)
    ticker = Ticker(branch_heads_sensor, instance, store)
    first = ticker.tick()
    later = store.commit("a", {"people": people(4)}).short_id  # a move after the first tick
    second = ticker.tick()
    requested = [r.partition_key for r in first.run_requests] + [r.partition_key for r in second.run_requests]
    assert len(first.run_requests) == 2 and sorted(requested) == sorted([*heads, later])
    assert ticker.tick().run_requests == []
