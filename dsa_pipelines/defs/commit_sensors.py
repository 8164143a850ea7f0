"""Sensors that follow the catalog: new commits become partitions, new branch heads get
their statistics and profile.

- ``catalog_commits_sensor`` adds a ``commits`` partition for every commit, including
  those made outside Dagster (Python API, CLI), and records each of those as a
  materialization of the ``commit`` asset with the commit's metadata. Commits made by a
  Dagster run (e.g. ``ingest``) were recorded by that run and only get their partition.
- ``branch_heads_sensor`` follows the reflog (ingest, reset, merges, the Python API) and
  requests the ``commit_head_assets`` job for every new branch head (once per commit).

Both read the catalog with a cursor (see :mod:`dsa_pipelines.storage.catalog.feeds`) and never
lock anything. Interval: ``$DSA_CATALOG_SENSOR_INTERVAL_SECONDS`` (default 30 s).
"""

import json

import dagster as dg

from dsa_pipelines import settings
from dsa_pipelines.defs.commit_metadata import COMMIT, commit_metadata
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.defs.statistics import HEAD_ASSETS_JOB
from dsa_pipelines.storage import BRANCH, Commit, Store

COMMITS_PER_TICK = 100
MOVES_PER_TICK = 500


def interval_seconds() -> int:
    """Seconds between ticks of the catalog sensors (``$DSA_CATALOG_SENSOR_INTERVAL_SECONDS``)."""
    return settings.current().catalog_sensor_interval_seconds


def _new_partitions(instance: dg.DagsterInstance, keys: list[str]) -> list[str]:
    keys = list(dict.fromkeys(keys))
    return [k for k in keys if not instance.has_dynamic_partition(commits_partitions.name, k)]


def _made_by_dagster(instance: dg.DagsterInstance, commit: Commit) -> bool:
    return bool(commit.run_id) and instance.get_run_by_id(commit.run_id) is not None


def _branches_at(store: Store, commit: Commit) -> str:
    return ", ".join(r.name for r in store.refs_at(commit.dataset, commit.id) if r.kind == BRANCH)


@dg.sensor(minimum_interval_seconds=interval_seconds(), default_status=dg.DefaultSensorStatus.RUNNING)
def catalog_commits_sensor(context: dg.SensorEvaluationContext, store: StoreResource) -> dg.SensorResult:
    """Adds a ``commits`` partition for every new commit in the catalog, and records commits made
    outside Dagster (Python API, CLI) as ``commit`` materializations with their metadata
    (dataset, message, author, parents, rows per table)."""
    opened = store.open()
    found, cursor = opened.new_commits(json.loads(context.cursor) if context.cursor else None,
                                      limit=COMMITS_PER_TICK)
    keys = _new_partitions(context.instance, [partition_key(c.id) for c in found])
    events = [
        dg.AssetMaterialization(
            COMMIT, partition=partition_key(c.id), description=c.message or None,
            metadata=commit_metadata(c, _branches_at(opened, c), "external", store=opened))
        for c in found if not _made_by_dagster(context.instance, c)
    ]
    if found:
        context.log.info(f"{len(found)} new commit(s); {len(keys)} new partition(s); "
                         f"{len(events)} made outside Dagster")
    return dg.SensorResult(
        cursor=json.dumps(cursor, sort_keys=True),
        dynamic_partitions_requests=[commits_partitions.build_add_request(keys)] if keys else [],
        asset_events=events,
        skip_reason=None if found else "no new commits",
    )


@dg.sensor(job_name=HEAD_ASSETS_JOB, minimum_interval_seconds=interval_seconds(),
           default_status=dg.DefaultSensorStatus.RUNNING)
def branch_heads_sensor(context: dg.SensorEvaluationContext, store: StoreResource) -> dg.SensorResult:
    """Requests statistics and the profile (job ``commit_head_assets``) for every new branch head,
    whatever moved the branch (ingest, reset, a merge, the Python API); once per commit. On its
    first tick it starts after the newest ref move already in the catalog."""
    opened = store.open()
    previous = json.loads(context.cursor) if context.cursor else None
    moves, cursor = opened.new_ref_moves(previous, limit=MOVES_PER_TICK, from_end=previous is None)
    heads: dict[tuple[str, str], str] = {}
    for move in moves:
        if move.kind == BRANCH and move.new_commit:
            heads[(move.dataset, move.ref_name)] = move.new_commit
    requests: dict[str, dg.RunRequest] = {}
    for (dataset, branch), commit_id in heads.items():
        commit = opened.get_commit(dataset, commit_id)
        key = partition_key(commit_id)
        if not commit.tables or key in requests:
            continue  # a dataset's empty root commit has nothing to describe
        requests[key] = dg.RunRequest(
            run_key=f"{HEAD_ASSETS_JOB}:{key}", partition_key=key,
            tags={"dsa/dataset": dataset, "dsa/head_of": f"{dataset}/{branch}"})
    keys = _new_partitions(context.instance, list(requests))
    return dg.SensorResult(
        run_requests=list(requests.values()) or None,
        cursor=json.dumps(cursor, sort_keys=True),
        dynamic_partitions_requests=[commits_partitions.build_add_request(keys)] if keys else [],
        skip_reason=None if requests else f"{len(moves)} ref move(s), no new branch head with tables",
    )


defs = dg.Definitions(sensors=[catalog_commits_sensor, branch_heads_sensor])
