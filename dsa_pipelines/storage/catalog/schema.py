"""The catalog's tables (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Times are stored as ISO-8601 UTC text with microseconds (``2026-11-21T10:00:00.000000Z``):
identical on SQLite and PostgreSQL, and they sort as text.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

NAME = sa.String(200)
OID = sa.String(64)
TIME = sa.String(32)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("name", NAME, primary_key=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("created_by", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("default_branch", NAME, nullable=False, server_default="main"),
    sa.Column("drift_policy", sa.String(16), nullable=False, server_default="warn"),
    sa.Column("settings", sa.Text, nullable=False, server_default="{}"),  # JSON object
    # soft delete (migration 0005_gc): set while the dataset is deleted, cleared by a restore
    sa.Column("deleted_at", TIME, nullable=True),
    sa.Column("deleted_by", NAME, nullable=True),
    sa.Column("delete_reason", sa.Text, nullable=True),
)

commits = sa.Table(
    "commits",
    metadata,
    sa.Column("id", OID, primary_key=True),
    sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), nullable=False, index=True),
    sa.Column("tree_id", OID, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("author", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("meta", sa.Text, nullable=False, server_default="{}"),  # JSON object
)

commit_parents = sa.Table(
    "commit_parents",
    metadata,
    sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("parent_id", OID, sa.ForeignKey("commits.id"), nullable=False, index=True),
)

commit_tables = sa.Table(
    "commit_tables",
    metadata,
    sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("manifest_id", OID, nullable=False),
    sa.Column("content_id", OID, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("arrow_schema", sa.Text, nullable=False),  # base64 Arrow IPC schema
    sa.Column("columns", sa.Text, nullable=False),  # JSON [{name, type, logical, nulls}]
    sa.Column("stats", sa.Text, nullable=False, server_default="{}"),  # JSON: new/reused/stored rows
)

packs = sa.Table(
    "packs",
    metadata,
    sa.Column("id", OID, primary_key=True),
    sa.Column("schema_fp", OID, nullable=False, index=True),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
)

refs = sa.Table(
    "refs",
    metadata,
    sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # branch | tag
    sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), nullable=False),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("updated_at", TIME, nullable=False),
)

reflog = sa.Table(
    "reflog",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", NAME, nullable=False),
    sa.Column("ref_name", NAME, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("old_commit", OID, nullable=True),
    sa.Column("new_commit", OID, nullable=True),
    sa.Column("actor", NAME, nullable=False, server_default=""),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
    sa.Index("ix_reflog_ref", "dataset", "ref_name", "id"),
)
