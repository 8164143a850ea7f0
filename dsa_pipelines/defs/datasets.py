"""Every dataset is an asset of its own; its partitions are its commits.

* ``datasets/<name>`` — one asset per dataset (description, tags, drift policy), in the
  ``datasets`` group. Its dynamic partitions (``dataset:<name>``) are the dataset's commits,
  keyed ``v<version>-<short id>`` (``v3-1a2b3c4d5e6f``): the version is the commit's depth in
  its own first-parent chain, which never changes, so a key never changes either. Its
  Partitions tab, plots (rows, new / reused rows per version) and events are that dataset's
  history. The ``ingest`` job and the catalog sensor report one materialization per commit
  with :func:`~dsa_pipelines.defs.commit_metadata.commit_metadata`.
* ``datasets`` — one overview asset: a table of every dataset with its branches, tags,
  latest version, rows and last update, reported by the catalog sensor when anything moved.

The per-dataset assets are built when the code location loads (``DefinitionsLoadContext``):
the code server reads the list of datasets from the catalog once and passes it to run
workers as reconstruction metadata, so every process of one deployment sees the same
assets. A dataset created later is reported at once (its events appear under its key) and
becomes a full asset with partitions on the next reload of the code location (``make dev``
reloads it automatically when a dataset appears). See docs/ui.md.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType

from dsa_pipelines import settings
from dsa_pipelines.defs.commit_metadata import COMMIT, COMMIT_SCHEMA, commit_metadata, schema_metadata
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.storage import BRANCH, Commit, CommitResult, Dataset, Store

GROUP = "datasets"
DATASETS = dg.AssetKey("datasets")
RECONSTRUCTION_KEY = "dsa/datasets"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

overview_asset = dg.AssetSpec(
    DATASETS, group_name=GROUP, kinds={"table"},
    description="Every dataset in the store: branches, tags, latest version, rows and last update. "
                "Each dataset is also an asset of its own, `datasets/<name>`, whose partitions are its commits.")


def dataset_key(name: str) -> dg.AssetKey:
    """The asset key of a dataset: ``datasets/<name>``."""
    return dg.AssetKey(["datasets", name])


def partitions_name(name: str) -> str:
    """The name of a dataset's dynamic partitions definition."""
    return f"dataset:{name}"


def dataset_partitions(name: str) -> dg.DynamicPartitionsDefinition:
    """A dataset's partitions: one per commit."""
    return dg.DynamicPartitionsDefinition(name=partitions_name(name))


def version_key(version: int, commit_id: str) -> str:
    """A commit's partition key in its dataset's asset: ``v<version>-<12-hex short id>``."""
    return f"v{version}-{partition_key(commit_id)}"


def commit_of(key: str) -> str:
    """The short commit id in a dataset partition key (``v3-1a2b3c4d5e6f`` → ``1a2b3c4d5e6f``)."""
    return key.rsplit("-", 1)[-1]


def _tag_ok(text: str) -> bool:
    return 0 < len(text) <= 63 and set(text) <= _TAG_CHARS


def dataset_spec(ds: Dataset) -> dg.AssetSpec:
    """The asset of one dataset (its tags become Dagster tags where Dagster's tag rules allow)."""
    tags = {"dsa/dataset": ds.name} if _tag_ok(ds.name) else {}
    tags.update({t: "" for t in ds.tags if _tag_ok(t)})
    owners = [ds.created_by] if _EMAIL.match(ds.created_by or "") else []
    return dg.AssetSpec(
        dataset_key(ds.name), group_name=GROUP, partitions_def=dataset_partitions(ds.name), tags=tags, owners=owners,
        kinds={"parquet"},
        description=(ds.description or f"Dataset {ds.name}")
        + " — one partition per commit, keyed `v<version>-<short id>`.",
        metadata={"dataset": ds.name, "default branch": ds.default_branch, "drift policy": ds.drift_policy,
                  "created by": ds.created_by or "unknown", "created at": ds.created_at,
                  "tags": ", ".join(ds.tags) or "none"})


def _store_exists() -> bool:
    config = settings.current()
    return bool(config.catalog_url) or (config.store_root / "catalog.db").exists()


def _encode(datasets: Iterable[Dataset]) -> str:
    return json.dumps([{"name": d.name, "description": d.description, "tags": list(d.tags),
                        "created_by": d.created_by, "created_at": d.created_at,
                        "default_branch": d.default_branch, "drift_policy": d.drift_policy} for d in datasets])


def _decode(text: str) -> list[Dataset]:
    return [Dataset(name=d["name"], description=d["description"], tags=tuple(d["tags"]),
                    created_by=d["created_by"], created_at=d["created_at"], default_branch=d["default_branch"],
                    drift_policy=d["drift_policy"]) for d in json.loads(text)]


def known_datasets(context: DefinitionsLoadContext) -> list[Dataset]:
    """The datasets to build assets for: read from the catalog by the code server, passed to run workers.

    A missing store is not created here: it has no datasets yet.
    """
    if context.load_type == DefinitionsLoadType.RECONSTRUCTION:
        cached = context.reconstruction_metadata.get(RECONSTRUCTION_KEY)
        if cached is not None:
            return _decode(cached)
    if not _store_exists():
        return []
    with Store.open() as store:
        return store.list_datasets()


def dataset_defs(context: DefinitionsLoadContext | None = None) -> dg.Definitions:
    """One asset per dataset known when the code location loads (context: Dagster's, by default)."""
    datasets = known_datasets(context or DefinitionsLoadContext.get())
    defs = dg.Definitions(assets=[dataset_spec(d) for d in datasets])
    # A preview API in Dagster 1.13; it is what hands the code server's list to run workers.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.with_reconstruction_metadata({RECONSTRUCTION_KEY: _encode(datasets)})


@dataclass(frozen=True)
class CommitEvents:
    """What the UI records for one commit: its partitions and the materializations to report."""

    commit: Commit
    version: int
    partition: str  # in ``commits``
    dataset_partition: str  # in ``dataset:<name>``
    metadata: dict = field(hash=False, compare=False)

    def add_partitions(self, instance: dg.DagsterInstance) -> None:
        """Register this commit's partitions, and its first parent's if missing (a dataset's
        root commit, made with the first upload), so that a dataset lists its versions in order."""
        wanted = [(commits_partitions.name, self.partition), (partitions_name(self.commit.dataset),
                                                               self.dataset_partition)]
        if self.commit.parents:
            parent = self.commit.parents[0]
            wanted[:0] = [(commits_partitions.name, partition_key(parent)),
                          (partitions_name(self.commit.dataset), version_key(self.version - 1, parent))]
        for name, key in wanted:
            if not instance.has_dynamic_partition(name, key):
                instance.add_dynamic_partitions(name, [key])

    def materializations(self, *, schema: bool = True) -> list[dg.AssetMaterialization]:
        """``commit`` and ``datasets/<name>`` (and ``commit_schema``) for this commit's partitions."""
        description = self.commit.message or None
        events = [
            dg.AssetMaterialization(COMMIT, partition=self.partition, description=description, metadata=self.metadata),
            dg.AssetMaterialization(dataset_key(self.commit.dataset), partition=self.dataset_partition,
                                    description=description, metadata=self.metadata),
        ]
        if schema:
            events.append(dg.AssetMaterialization(COMMIT_SCHEMA, partition=self.partition,
                                                  metadata=schema_metadata(self.commit)))
        return events

    def dataset_materialization(self) -> dg.AssetMaterialization:
        """Only the ``datasets/<name>`` partition's materialization (e.g. when the status changes)."""
        return self.materializations(schema=False)[1]


def commit_events(store: Store, commit: Commit, branch: str, status: str,
                  result: CommitResult | None = None) -> CommitEvents:
    """The partitions and metadata of one commit (its version and first parent read from the store)."""
    parent = store.get_commit(commit.dataset, commit.parents[0]) if commit.parents else None
    version = store.log(commit.dataset, commit.id, limit=1)[0].version
    metadata = commit_metadata(commit, branch, status, result, parent=parent, version=version, store=store)
    return CommitEvents(commit, version, partition_key(commit.id), version_key(version, commit.id), metadata)


def partition_requests(events: Iterable[CommitEvents], instance: dg.DagsterInstance) -> list:
    """Requests adding the partitions of these commits that the instance does not have yet."""
    wanted: dict[str, list[str]] = {}
    for e in events:
        wanted.setdefault(partitions_name(e.commit.dataset), []).append(e.dataset_partition)
    requests = []
    for name, keys in wanted.items():
        new = [k for k in dict.fromkeys(keys) if not instance.has_dynamic_partition(name, k)]
        if new:
            requests.append(dg.AddDynamicPartitionsRequest(partitions_def_name=name, partition_keys=new))
    return requests


def overview_metadata(store: Store) -> dict:
    """Metadata of the ``datasets`` asset: one row per dataset."""
    records = []
    for ds in store.list_datasets():
        branches = store.branches(ds.name)
        default = next((b for b in branches if b.name == ds.default_branch), None)
        latest = store.log(ds.name, default.commit_id, limit=1)[0] if default else None
        records.append(dg.TableRecord({
            "dataset": ds.name, "description": ds.description, "owner": ds.created_by,
            "branches": ", ".join(f"{b.name} → {b.commit_id[:12]}" for b in branches if b.kind == BRANCH),
            "tags": ", ".join(ds.tags) or None,
            "latest version": f"v{latest.version} ({latest.commit.short_id})" if latest else None,
            "rows": latest.commit.row_count if latest else 0,
            "last update": max((b.updated_at for b in branches), default=ds.created_at),
            "asset": f"datasets/{ds.name}",
        }))
    schema = dg.TableSchema([
        dg.TableColumn("dataset"), dg.TableColumn("description"), dg.TableColumn("owner"), dg.TableColumn("branches"),
        dg.TableColumn("tags"), dg.TableColumn("latest version"), dg.TableColumn("rows", "int"),
        dg.TableColumn("last update"), dg.TableColumn("asset")])
    metadata: dict = {"datasets": dg.MetadataValue.table(records, schema), "dataset count": len(records)}
    for record in records:
        name = record.data["dataset"]
        metadata[f"commit graph: {name}"] = dg.MetadataValue.md(commit_graph(store, name))
    return metadata


defs = dg.Definitions(assets=[overview_asset])


GRAPH_COMMITS = 40


def commit_graph(store: Store, dataset: str, limit: int = GRAPH_COMMITS) -> str:
    """A dataset's recent commit graph as Markdown holding a Mermaid flowchart.

    Nodes are the last ``limit`` commits of each branch and tag (``v<version> <short id>``
    and the message), edges go from a commit to its parents (a merge has two), and each
    branch and tag is a labelled node pointing at its commit. Dagster shows the Mermaid
    source as a code block; GitHub, GitLab and mermaid.live draw it.
    """
    refs = store.branches(dataset) + store.tags(dataset)
    nodes: dict[str, str] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for ref in refs:
        for entry in store.log(dataset, ref.commit_id, limit=limit):
            c = entry.commit
            message = (c.message or "").replace('"', "'")[:40]
            nodes.setdefault(c.id, f'v{entry.version} {c.short_id}<br/>{message}')
            parents[c.id] = c.parents
    lines = ["graph BT"]
    lines += [f'  c{cid[:12]}["{label}"]' for cid, label in nodes.items()]
    lines += [f"  c{cid[:12]} --> c{p[:12]}" for cid, ps in parents.items() for p in ps if p in nodes]
    for i, ref in enumerate(refs):
        shape = f'r{i}(["{ref.kind} {ref.name}"])' if ref.kind == BRANCH else f'r{i}{{{{"tag {ref.name}"}}}}'
        lines.append(f"  {shape} -.-> c{ref.commit_id[:12]}")
    return "```mermaid\n" + "\n".join(lines) + "\n```"
