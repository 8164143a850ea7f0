"""Catalog table of declared table keys (migration ``0004_table_keys``).

A dataset's table may declare the columns that identify its rows; diff and merge pair
rows by them and every commit checks them (no nulls, no duplicates).
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import NAME, TIME, metadata

table_keys = sa.Table(
    "table_keys",
    metadata,
    sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("columns", sa.Text, nullable=False),  # JSON list of column names
    sa.Column("updated_at", TIME, nullable=False),
)
