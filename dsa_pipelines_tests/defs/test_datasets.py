"""An asset per dataset: built from the catalog when the code location loads, handed to run
workers as reconstruction metadata, materialized per commit by the ingest job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType
from dagster._core.definitions.repository_definition.repository_definition import RepositoryLoadData

from dsa_pipelines.defs.datasets import RECONSTRUCTION_KEY, dataset_defs, dataset_key, overview_metadata, version_key
from dsa_pipelines.defs.ingest import IngestConfig, ingest_job, ingest_run_config
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store
from dsa_pipelines_tests.storage.helpers import people


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path / "no-suites"))
    with Store.open(tmp_path / "store") as s:
        yield s


def _specs(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    return {s.key: s for s in defs.resolve_all_asset_specs()}


def test_each_dataset_is_an_asset_whose_partitions_are_its_commits(store: Store) -> None:
    store.create_dataset("customers", description="CRM export", tags=["crm", "not a dagster tag!"],
                         created_by="ana@example.org")
    store.create_dataset("sales.eu")
    defs = dataset_defs(DefinitionsLoadContext(DefinitionsLoadType.INITIALIZATION))
    specs = _specs(defs)
    assert set(specs) == {dataset_key("customers"), dataset_key("sales.eu")}
    customers = specs[dataset_key("customers")]
    assert customers.description.startswith("CRM export")
    assert customers.tags == {"dsa/dataset": "customers", "crm": "", "dagster/kind/parquet": ""}  # bad tag: metadata
    assert customers.metadata["tags"] == "crm, not a dagster tag!"
    assert customers.partitions_def == dg.DynamicPartitionsDefinition(name="dataset:customers")
    assert customers.group_name == "datasets" and customers.owners == ["ana@example.org"]
    assert _specs(defs)[dataset_key("sales.eu")].owners == []  # no e-mail address: no owner


def test_run_workers_rebuild_the_same_assets_without_reading_the_catalog(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_dataset("customers")
    defs = dataset_defs(DefinitionsLoadContext(DefinitionsLoadType.INITIALIZATION))
    metadata = dict(defs.metadata)  # what the code server hands to run workers
    store.create_dataset("later")  # created after the code server loaded: not in a run worker's assets
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "elsewhere"))  # the catalog is not read again
    context = DefinitionsLoadContext(DefinitionsLoadType.RECONSTRUCTION,
                                     RepositoryLoadData(cacheable_asset_data={}, reconstruction_metadata=metadata))
    assert set(_specs(dataset_defs(context))) == {dataset_key("customers")}
    assert RECONSTRUCTION_KEY in metadata
    assert not (tmp_path / "elsewhere").exists()


def test_no_store_means_no_dataset_assets_and_no_store_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "missing"))
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    assert _specs(dataset_defs(DefinitionsLoadContext(DefinitionsLoadType.INITIALIZATION))) == {}
    assert not (tmp_path / "missing").exists()


def test_the_ingest_job_materializes_the_dataset_partition_staged_then_published(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    people(4).to_csv(path, index=False)
    with dg.instance_for_test() as instance:
        run = ingest_job.execute_in_process(
            run_config=ingest_run_config(IngestConfig(dataset="customers", paths=[str(path)])),
            resources={"store": StoreResource(root=str(store.root))}, instance=instance)
        assert run.success
        head = store.get_commit("customers", "main")
        key = version_key(1, head.id)
        assert instance.get_dynamic_partitions("dataset:customers") == [version_key(0, head.parents[0]), key]
        events = [e.materialization for e in run.get_asset_materialization_events()
                  if e.asset_key == dataset_key("customers")]
        assert [e.partition for e in events] == [key, key]
        first, last = ({k: getattr(v, "value", v) for k, v in e.metadata.items()} for e in events)
        assert (first["status"], last["status"]) == ("staged", "published")
        assert (last["version"], last["new_rows"], last["dagster/row_count"]) == ("v1", 4, 4)
        frame = people(4)
        assert last["null_rate"] == pytest.approx(frame.isna().sum().sum() / frame.size)
        assert list(last)[:6] == ["dataset", "branch", "version", "message", "author", "created_at"]
        assert [c.name for c in last["dagster/column_schema"].columns] == list(people(4).columns)


def test_the_overview_lists_every_dataset_with_its_commit_graph(store: Store) -> None:
    store.create_dataset("customers")
    one = store.commit("customers", {"people": people(3)}, message='first "export"')
    store.create_tag("customers", "q3-final")
    store.create_branch("customers", "fix", "main")
    two = store.commit("customers", {"people": people(4)}, branch="fix", message="fix")
    store.create_dataset("empty")
    meta = overview_metadata(store)
    rows = {r.data["dataset"]: r.data for r in meta["datasets"].records}
    assert rows["customers"]["latest version"] == f"v1 ({one.short_id})" and rows["customers"]["rows"] == 3
    assert "fix → " + two.short_id in rows["customers"]["branches"] and rows["empty"]["rows"] == 0
    assert rows["customers"]["owner"] == store.user  # the creator (issue 11)
    graph = meta["commit graph: customers"].value
    assert graph.startswith("```mermaid\ngraph BT\n") and graph.endswith("\n```")
    root = store.resolve("customers", "main~1")
    assert f'c{one.short_id}["v1 {one.short_id}<br/>first \'export\'"]' in graph  # quotes cannot break the label
    assert f"c{two.short_id} --> c{one.short_id}" in graph and f"c{one.short_id} --> c{root[:12]}" in graph
    assert f'(["branch fix"]) -.-> c{two.short_id}' in graph
    assert '{{"tag q3-final"}} -.-> c' + one.short_id in graph
