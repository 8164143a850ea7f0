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


def added_keys(data) -> list[str]:  # noqa: ANN001
    return [k for r in data.dynamic_partitions_requests for k in r.partition_keys]


def test_external_commits_become_partitions_and_materializations(
    store: Store, instance: dg.DagsterInstance
) -> None:
    ticker = Ticker(catalog_commits_sensor, instance, store)
    store.create_dataset("customers")
    result = store.commit("customers", {"people": people(5)}, message="from a notebook", author="ann")
    data = ticker.tick()
    root = store.resolve("customers", "main~1")
    assert added_keys(data) == [partition_key(root), result.short_id]
    assert [r.partitions_def_name for r in data.dynamic_partitions_requests] == [commits_partitions.name]
    event = data.asset_events[-1]
    assert (event.asset_key, event.partition) == (dg.AssetKey("commit"), result.short_id)
    meta = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert (meta["dataset"], meta["author"], meta["message"], meta["branch"]) == (
        "customers", "ann", "from a notebook", "main")
    assert meta["parents"] == root[:12] and meta["dagster/row_count"] == 5 and meta["status"] == "external"

    again = ticker.tick()  # cursor advanced: each commit once
    assert again.dynamic_partitions_requests == [] and again.asset_events == []
    assert again.skip_message == "no new commits"

    instance.add_dynamic_partitions(commits_partitions.name, added_keys(data))
    second = store.commit("customers", {"people": people(6)}, author="bob")
    data = ticker.tick()
    assert added_keys(data) == [second.short_id]
    assert [e.partition for e in data.asset_events] == [second.short_id]


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
    assert [e.partition for e in data.asset_events] == [partition_key(head.parents[0])]  # the root: external


def test_branch_heads_request_the_head_assets_once_per_commit(store: Store, instance: dg.DagsterInstance) -> None:
    store.create_dataset("customers")
    store.commit("customers", {"people": people(3)})
    ticker = Ticker(branch_heads_sensor, instance, store)
    first = ticker.tick()
    assert first.run_requests == []  # starts after the moves already in the catalog

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
