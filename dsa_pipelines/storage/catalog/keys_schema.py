"""Catalog table of declared table keys (migration ``0004_table_keys``) and its queries.

A dataset's table may declare the columns that identify its rows; diff and merge pair
rows by them and every commit checks them (no nulls, no duplicates).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from ..models import utc_now
from .schema import NAME, TIME, metadata

table_keys = sa.Table(
    "table_keys",
    metadata,
    sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("columns", sa.Text, nullable=False),  # JSON list of column names
    sa.Column("updated_at", TIME, nullable=False),
)


def declared_key(conn: sa.Connection, dataset: str, table: str) -> tuple[str, ...] | None:
    """The key declared on a dataset's table, or None."""
    row = conn.execute(sa.select(table_keys.c.columns).where(
        table_keys.c.dataset == dataset, table_keys.c.table_name == table)).first()
    return tuple(json.loads(row.columns)) if row else None


def declared_keys(conn: sa.Connection, dataset: str) -> dict[str, tuple[str, ...]]:
    """Every key declared on a dataset's tables, by table name."""
    rows = conn.execute(sa.select(table_keys).where(table_keys.c.dataset == dataset)).all()
    return {r.table_name: tuple(json.loads(r.columns)) for r in rows}


def save_key(conn: sa.Connection, dataset: str, table: str, key: Sequence[str] | None) -> None:
    """Declare (or with None drop) a table's key, in the caller's write transaction."""
    conn.execute(table_keys.delete().where(table_keys.c.dataset == dataset, table_keys.c.table_name == table))
    if key is not None:
        conn.execute(table_keys.insert().values(dataset=dataset, table_name=table, columns=json.dumps(list(key)),
                                                updated_at=utc_now()))
