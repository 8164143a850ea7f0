"""The key index in the catalog: live runs per schema and the packs each covers (SQL only).

Functions over a connection from :meth:`Catalog.read` / :meth:`Catalog.write`; the
logic lives in :mod:`dsa_pipelines.storage.key_index`, the format in ``docs/key-index.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..models import utc_now
from .database import insert_once
from .key_index_schema import key_index_run_packs, key_index_runs
from .schema import packs


@dataclass(frozen=True)
class RunInfo:
    """A live run as the catalog lists it (``min_k1 > max_k1`` for an empty run)."""

    id: str
    row_count: int
    min_k1: int
    max_k1: int


def live_runs(conn: sa.Connection, schema_fp: str) -> list[RunInfo]:
    """The live runs of a schema, newest first (a re-upload most often matches recent rows)."""
    query = (sa.select(key_index_runs).where(key_index_runs.c.schema_fp == schema_fp)
             .order_by(key_index_runs.c.created_at.desc(), key_index_runs.c.id))
    return [RunInfo(r.id, r.row_count, r.min_k1, r.max_k1) for r in conn.execute(query)]


def live_run_ids(conn: sa.Connection) -> list[str]:
    """Object ids (kind ``keyindex``) of every live run, of every schema."""
    return [r.id for r in conn.execute(sa.select(key_index_runs.c.id).order_by(key_index_runs.c.id))]


def indexed_schemas(conn: sa.Connection) -> list[str]:
    """Schema fingerprints that have live runs."""
    return [r.schema_fp for r in conn.execute(sa.select(key_index_runs.c.schema_fp).distinct())]


def register_run(conn: sa.Connection, schema_fp: str, run: RunInfo, pack_ids: tuple[str, ...]) -> None:
    """Make a stored run live with the packs it covers (a run already live is left as it is)."""
    if conn.execute(sa.select(key_index_runs.c.id).where(key_index_runs.c.id == run.id)).first():
        return

    def insert() -> None:
        conn.execute(key_index_runs.insert().values(
            id=run.id, schema_fp=schema_fp, row_count=run.row_count, min_k1=run.min_k1, max_k1=run.max_k1,
            pack_count=len(pack_ids), created_at=utc_now()))
        conn.execute(key_index_run_packs.insert(), [{"run_id": run.id, "pack_id": p} for p in pack_ids])

    insert_once(conn, insert)  # two writers indexing the same packs make the same run (its id is its hash)


def drop_runs(conn: sa.Connection, run_ids: list[str]) -> int:
    """Remove runs from the live set; returns how many were live."""
    if not run_ids:
        return 0
    conn.execute(key_index_run_packs.delete().where(key_index_run_packs.c.run_id.in_(run_ids)))
    return conn.execute(key_index_runs.delete().where(key_index_runs.c.id.in_(run_ids))).rowcount


def runs_covering(conn: sa.Connection, pack_ids: list[str]) -> list[str]:
    """Ids of the live runs that cover any of ``pack_ids``."""
    if not pack_ids:
        return []
    query = sa.select(key_index_run_packs.c.run_id).distinct().where(key_index_run_packs.c.pack_id.in_(pack_ids))
    return [r.run_id for r in conn.execute(query)]


def uncovered_packs(conn: sa.Connection, schema_fp: str) -> list[str]:
    """Packs of a schema that no live run covers, oldest first."""
    covered = sa.select(key_index_run_packs.c.pack_id).where(key_index_run_packs.c.pack_id == packs.c.id)
    query = (sa.select(packs.c.id).where(packs.c.schema_fp == schema_fp, ~covered.exists())
             .order_by(packs.c.created_at, packs.c.id))
    return [r.id for r in conn.execute(query)]
