"""Sensors that follow the catalog: new commits become partitions, new branch heads get
their statistics and profile.

- ``catalog_commits_sensor`` adds the partitions of every commit (``commits`` and its
  dataset's), including those made outside Dagster (Python API, CLI), and records each of
  those as materializations of ``commit``, ``commit_schema`` and ``datasets/<name>`` with
  the commit's real metadata (rows new vs reused from the catalog, ``published`` when a
  branch holds it). Commits made by a Dagster run (e.g. ``ingest``) were recorded by that
  run and only get their partitions. Each tick that found commits refreshes ``datasets``.
- ``branch_heads_sensor`` follows the reflog (ingest, reset, merges, the Python API) and
  requests the ``commit_head_assets`` job for every new branch head (once per commit; on
  its first tick for every current head, a bounded number per tick).

Both read the catalog with a cursor (see :mod:`dsa_pipelines.storage.catalog.feeds`) and never
lock anything. Interval: ``$DSA_CATALOG_SENSOR_INTERVAL_SECONDS`` (default 30 s).
"""

import json

import dagster as dg

from dsa_pipelines import settings
from dsa_pipelines.defs.datasets import DATASETS, CommitEvents, commit_events, overview_metadata, partition_requests
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.defs.statistics import HEAD_ASSETS_JOB
from dsa_pipelines.storage import BRANCH, Commit, Store

COMMITS_PER_TICK = 100
MOVES_PER_TICK = 500
HEADS_PER_TICK = 20
HISTORY_LIMIT = 1000


def interval_seconds() -> int:
    """Seconds between ticks of the catalog sensors (``$DSA_CATALOG_SENSOR_INTERVAL_SECONDS``)."""
    return settings.current().catalog_sensor_interval_seconds


def _new_partitions(instance: dg.DagsterInstance, keys: list[str]) -> list[str]:
    keys = list(dict.fromkeys(keys))
    return [k for k in keys if not instance.has_dynamic_partition(commits_partitions.name, k)]


def _made_by_dagster(instance: dg.DagsterInstance, commit: Commit) -> bool:
    return bool(commit.run_id) and instance.get_run_by_id(commit.run_id) is not None


class _Placement:
    """Which branches point at, or hold in their recent history, the commits of a batch."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._history: dict[str, dict[str, set[str]]] = {}

    def _branches(self, dataset: str) -> dict[str, set[str]]:
        if dataset not in self._history:
            self._history[dataset] = {
                b.name: {e.commit.id for e in self.store.log(dataset, b.commit_id, limit=HISTORY_LIMIT)}
                for b in self.store.branches(dataset) if b.kind == BRANCH}
        return self._history[dataset]

    def place(self, commit: Commit) -> tuple[str, str]:
        """(branches, status): ``published`` if a branch holds the commit, else ``staged``."""
        at = [r.name for r in self.store.refs_at(commit.dataset, commit.id) if r.kind == BRANCH]
        holding = at or [name for name, ids in self._branches(commit.dataset).items() if commit.id in ids]
        return ", ".join(holding) or "none", "published" if holding else "staged"


def _external_events(store: Store, commit: Commit, placement: _Placement) -> CommitEvents:
    branch, status = placement.place(commit)
    return commit_events(store, commit, branch, status)


@dg.sensor(minimum_interval_seconds=interval_seconds(), default_status=dg.DefaultSensorStatus.RUNNING)
def catalog_commits_sensor(context: dg.SensorEvaluationContext, store: StoreResource) -> dg.SensorResult:
    """Adds the partitions of every new commit in the catalog (in ``commits`` and in its dataset's
    ``dataset:<name>``), records commits made outside Dagster (Python API, CLI) as ``commit``,
    ``commit_schema`` and ``datasets/<name>`` materializations with their metadata (dataset,
    branch, version, status, rows new vs reused per table) and refreshes the ``datasets`` overview."""
    opened = store.open()
    found, cursor = opened.new_commits(json.loads(context.cursor) if context.cursor else None,
                                      limit=COMMITS_PER_TICK)
    keys = _new_partitions(context.instance, [partition_key(c.id) for c in found])
    placement = _Placement(opened)
    described = [_external_events(opened, c, placement) for c in found]
    external = [e for e in described if not _made_by_dagster(context.instance, e.commit)]
    events = [m for e in external for m in e.materializations()]
    if found:
        events.append(dg.AssetMaterialization(DATASETS, metadata=overview_metadata(opened)))
        context.log.info(f"{len(found)} new commit(s); {len(keys)} new partition(s); "
                         f"{len(external)} made outside Dagster")
    requests = [commits_partitions.build_add_request(keys)] if keys else []
    return dg.SensorResult(
        cursor=json.dumps(cursor, sort_keys=True),
        dynamic_partitions_requests=requests + partition_requests(described, context.instance),
        asset_events=events,
        skip_reason=None if found else "no new commits",
    )


def _current_heads(store: Store) -> list[list[str]]:
    return [[ds.name, b.name, b.commit_id] for ds in store.list_datasets() for b in store.branches(ds.name)
            if b.kind == BRANCH]


@dg.sensor(job_name=HEAD_ASSETS_JOB, minimum_interval_seconds=interval_seconds(),
           default_status=dg.DefaultSensorStatus.RUNNING)
def branch_heads_sensor(context: dg.SensorEvaluationContext, store: StoreResource) -> dg.SensorResult:
    """Requests statistics and the profile (job ``commit_head_assets``) for every new branch head,
    whatever moved the branch (ingest, reset, a merge, the Python API, the CLI); once per commit.
    On its first tick it queues every current branch head (so commits made before the UI
    started get theirs too) and works through them, at most 20 requests per tick."""
    opened = store.open()
    previous = json.loads(context.cursor) if context.cursor else None
    if previous is None:
        moves, feed = opened.new_ref_moves(None, limit=MOVES_PER_TICK, from_end=True)
        pending = _current_heads(opened)  # listed after the feed's start: a move in between is seen twice
    else:
        if "feed" not in previous:  # a cursor written before the backfill existed
            previous = {"feed": previous, "pending": []}
        moves, feed = opened.new_ref_moves(previous["feed"], limit=MOVES_PER_TICK)
        pending = previous["pending"] + [[m.dataset, m.ref_name, m.new_commit] for m in moves
                                         if m.kind == BRANCH and m.new_commit]
    heads = {(dataset, branch): commit_id for dataset, branch, commit_id in pending}  # the latest per branch
    requests: dict[str, dg.RunRequest] = {}
    left: list[list[str]] = []
    for (dataset, branch), commit_id in heads.items():
        key = partition_key(commit_id)
        if key in requests:
            continue
        if len(requests) >= HEADS_PER_TICK:
            left.append([dataset, branch, commit_id])
            continue
        commit = opened.get_commit(dataset, commit_id)
        if not commit.tables:
            continue  # a dataset's empty root commit has nothing to describe
        requests[key] = dg.RunRequest(
            run_key=f"{HEAD_ASSETS_JOB}:{key}", partition_key=key,
            tags={"dsa/dataset": dataset, "dsa/head_of": f"{dataset}/{branch}"})
    keys = _new_partitions(context.instance, list(requests))
    return dg.SensorResult(
        run_requests=list(requests.values()) or None,
        cursor=json.dumps({"feed": feed, "pending": left}, sort_keys=True),
        dynamic_partitions_requests=[commits_partitions.build_add_request(keys)] if keys else [],
        skip_reason=None if requests else f"{len(moves)} ref move(s), no new branch head with tables",
    )


defs = dg.Definitions(sensors=[catalog_commits_sensor, branch_heads_sensor])
