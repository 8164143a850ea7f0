"""Sampling records in the catalog, and the drawn-row lists kept as objects.

A round's drawn logical row ids are an immutable ``reports`` object (zstd Parquet,
one sorted int64 column ``logical_row_id``); ``sampling_rounds.rows_object`` names it.
They are what later rounds and ``exclude_samples`` exclude, exactly (row hashes
would not do: a table may hold the same row twice).

A run reserves its round numbers in one transaction before writing any commit
(primary key dataset + sample + round), so two runs continuing one sample at once
cannot both add "round 3": the second gets :class:`AlreadyExists`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from dsa_pipelines.storage import AlreadyExists
from dsa_pipelines.storage.extension import utc_now

from .tables import samples, sampling_rounds, sampling_runs

if TYPE_CHECKING:
    from dsa_pipelines.storage import Store

ROWS_SUFFIX = ".rows.parquet"


@dataclass(frozen=True)
class RoundRecord:
    """One recorded round of a sample."""

    round: int
    run_id: int
    method: str
    params: dict
    requested: int
    drawn: int
    eligible: int
    residual: int
    commit_id: str | None
    rows_object: str
    details: dict = field(default_factory=dict, hash=False, compare=False)
    warnings: tuple[str, ...] = ()
    created_at: str = ""


@dataclass(frozen=True)
class SampleInfo:
    """A sample: its branch, source and completed rounds."""

    dataset: str
    name: str
    branch: str
    source_commit: str
    table: str
    created_by: str
    created_at: str
    rounds: tuple[RoundRecord, ...] = ()


@dataclass(frozen=True)
class SamplingRun:
    """One recorded ``draw_sample`` call."""

    id: int
    dataset: str
    sample_name: str
    source_commit: str
    table: str
    seed: int
    params: dict
    status: str
    first_round: int
    round_count: int
    warnings: tuple[str, ...]
    error: str
    commits: tuple[str, ...]
    dagster_run_id: str | None
    created_by: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class PlannedRound:
    """A computed round waiting to be reserved and committed."""

    round: int
    method: str
    params: dict
    requested: int
    drawn: int
    eligible: int
    residual: int
    rows_object: str
    details: dict
    warnings: tuple[str, ...]


# ----------------------------------------------------------------------------- row lists
def put_rows(store: Store, row_ids: np.ndarray) -> str:
    """Store sorted logical row ids as an object; returns its id (idempotent)."""
    sink = io.BytesIO()
    pq.write_table(pa.table({"logical_row_id": pa.array(row_ids, pa.int64())}), sink, compression="zstd")
    return store.put_report(sink.getvalue(), ROWS_SUFFIX)


def get_rows(store: Store, object_id: str) -> np.ndarray:
    """Read logical row ids stored by :func:`put_rows`."""
    data = store.read_report(object_id, ROWS_SUFFIX)
    return pq.read_table(io.BytesIO(data)).column(0).to_numpy().astype(np.int64, copy=False)


# ----------------------------------------------------------------------------- reading
def _round(r: sa.Row) -> RoundRecord:
    return RoundRecord(r.round, r.run_id, r.method, json.loads(r.params), r.requested, r.drawn, r.eligible,
                       r.residual, r.commit_id, r.rows_object, json.loads(r.details), tuple(json.loads(r.warnings)),
                       r.created_at)


def _sample(conn: sa.Connection, row: sa.Row) -> SampleInfo:
    rounds = conn.execute(
        sa.select(sampling_rounds).where(sampling_rounds.c.dataset == row.dataset,
                                         sampling_rounds.c.sample_name == row.name,
                                         sampling_rounds.c.commit_id.is_not(None))
        .order_by(sampling_rounds.c.round))
    return SampleInfo(row.dataset, row.name, row.branch, row.source_commit, row.table_name, row.created_by,
                      row.created_at, tuple(_round(r) for r in rounds))


def load_sample(store: Store, dataset: str, name: str) -> SampleInfo | None:
    """A sample with its completed rounds, or None."""
    with store.catalog_read() as conn:
        row = conn.execute(sa.select(samples).where(samples.c.dataset == dataset, samples.c.name == name)).first()
        return _sample(conn, row) if row else None


def load_samples(store: Store, dataset: str) -> list[SampleInfo]:
    """All samples of a dataset, by name."""
    with store.catalog_read() as conn:
        rows = conn.execute(sa.select(samples).where(samples.c.dataset == dataset).order_by(samples.c.name)).all()
        return [_sample(conn, r) for r in rows]


def load_runs(store: Store, dataset: str, name: str | None = None) -> list[SamplingRun]:
    """Sampling runs of a dataset (or one sample), oldest first."""
    query = sa.select(sampling_runs).where(sampling_runs.c.dataset == dataset)
    if name is not None:
        query = query.where(sampling_runs.c.sample_name == name)
    with store.catalog_read() as conn:
        rows = conn.execute(query.order_by(sampling_runs.c.id)).all()
    return [SamplingRun(r.id, r.dataset, r.sample_name, r.source_commit, r.table_name, r.seed, json.loads(r.params),
                        r.status, r.first_round, r.round_count, tuple(json.loads(r.warnings)), r.error,
                        tuple(json.loads(r.commits)), r.dagster_run_id, r.created_by, r.created_at, r.finished_at)
            for r in rows]


# ----------------------------------------------------------------------------- writing
def reserve(store: Store, *, dataset: str, name: str, branch: str, source_commit: str, table: str, seed: int,
            params: dict, new_sample: bool, planned: list[PlannedRound], warnings: list[str],
            dagster_run_id: str | None, author: str) -> int:
    """Record a run as ``running`` and claim its round numbers (and the name, if new).

    Returns:
        The run id.

    Raises:
        AlreadyExists: another run took the name or one of the round numbers meanwhile.
    """
    now = utc_now()
    try:
        with store.catalog_write() as conn:
            if new_sample:
                conn.execute(samples.insert().values(dataset=dataset, name=name, branch=branch,
                                                     source_commit=source_commit, table_name=table,
                                                     created_by=author, created_at=now))
            run_id = conn.execute(sampling_runs.insert().values(
                dataset=dataset, sample_name=name, source_commit=source_commit, table_name=table, seed=seed,
                params=json.dumps(params, sort_keys=True), status="running", first_round=planned[0].round,
                round_count=len(planned), warnings=json.dumps(warnings), dagster_run_id=dagster_run_id,
                created_by=author, created_at=now).returning(sampling_runs.c.id)).scalar_one()
            conn.execute(sampling_rounds.insert(), [
                {"dataset": dataset, "sample_name": name, "round": p.round, "run_id": run_id, "method": p.method,
                 "params": json.dumps(p.params, sort_keys=True), "requested": p.requested, "drawn": p.drawn,
                 "eligible": p.eligible, "residual": p.residual, "rows_object": p.rows_object,
                 "details": json.dumps(p.details, sort_keys=True), "warnings": json.dumps(list(p.warnings)),
                 "created_at": now} for p in planned])
    except sa.exc.IntegrityError as e:
        raise AlreadyExists(
            f"sample {name!r} of dataset {dataset!r} was created or continued by another run meanwhile; "
            "look at its rounds and try again", kind="sample", name=name) from e
    return run_id


def set_round_commit(store: Store, dataset: str, name: str, round_no: int, commit_id: str) -> None:
    """Record the commit that holds a round."""
    with store.catalog_write() as conn:
        conn.execute(sampling_rounds.update().where(
            sampling_rounds.c.dataset == dataset, sampling_rounds.c.sample_name == name,
            sampling_rounds.c.round == round_no).values(commit_id=commit_id))


def finish(store: Store, run_id: int, commits: list[str]) -> None:
    """Mark a run succeeded with the commits it created."""
    with store.catalog_write() as conn:
        conn.execute(sampling_runs.update().where(sampling_runs.c.id == run_id).values(
            status="succeeded", commits=json.dumps(commits), finished_at=utc_now()))


def abandon(store: Store, run_id: int, *, dataset: str, name: str, new_sample: bool, error: str) -> None:
    """Mark a run failed and release what it reserved (its rounds; the name if it was new)."""
    with store.catalog_write() as conn:
        conn.execute(sampling_rounds.delete().where(sampling_rounds.c.run_id == run_id))
        if new_sample:
            conn.execute(samples.delete().where(samples.c.dataset == dataset, samples.c.name == name))
        conn.execute(sampling_runs.update().where(sampling_runs.c.id == run_id).values(
            status="failed", error=error, finished_at=utc_now()))
