"""Catalog tables of the persistent key index (migration ``0006_key_index``).

The key index of a logical schema is a set of immutable *runs* (``keyindex`` objects,
see ``docs/key-index.md``). ``key_index_runs`` lists the live runs; a merge replaces
its inputs by one run in one transaction. ``key_index_run_packs`` says which row packs
each run covers, so packs that no live run covers (stores older than the index, packs
whose run was dropped) are found and indexed again.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import OID, TIME, metadata

key_index_runs = sa.Table(
    "key_index_runs",
    metadata,
    sa.Column("id", OID, primary_key=True),  # object id of the run ("keyindex" kind)
    sa.Column("schema_fp", OID, nullable=False, index=True),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("min_k1", sa.BigInteger, nullable=False),
    sa.Column("max_k1", sa.BigInteger, nullable=False),
    sa.Column("pack_count", sa.Integer, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
)

key_index_run_packs = sa.Table(
    "key_index_run_packs",
    metadata,
    sa.Column("run_id", OID, sa.ForeignKey("key_index_runs.id"), primary_key=True),
    sa.Column("pack_id", OID, primary_key=True),
    sa.Index("ix_key_index_run_packs_pack", "pack_id"),
)
