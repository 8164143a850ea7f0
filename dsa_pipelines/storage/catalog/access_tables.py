"""Catalog tables of access control (migration ``0007_access``).

- ``users``: who may act on the store, with a store-wide role (``user`` / ``admin``).
- ``grants``: one row per (dataset, principal): the principal's level on the dataset
  (1 read, 2 write, 3 admin); the principal ``*`` stands for everyone (public read).
- ``protected_branches``: the rules of a protected branch.
- ``audit_log``: the append-only trail of mutating actions and denials.

The SQL over them lives in the concept modules :mod:`..identity`, :mod:`..access`,
:mod:`..protection` and :mod:`..audit`.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import NAME, OID, TIME, metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", NAME, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("created_by", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("dataset", NAME, primary_key=True),
    sa.Column("principal", NAME, primary_key=True),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("granted_by", NAME, nullable=False, server_default=""),
    sa.Column("granted_at", TIME, nullable=False),
    sa.Index("ix_grants_principal", "principal", "dataset"),
)

protected_branches = sa.Table(
    "protected_branches",
    metadata,
    sa.Column("dataset", NAME, primary_key=True),
    sa.Column("branch", NAME, primary_key=True),
    sa.Column("require_merge", sa.Boolean, nullable=False),
    sa.Column("allow_reset", sa.Boolean, nullable=False),
    sa.Column("allow_delete", sa.Boolean, nullable=False),
    sa.Column("created_by", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("user_name", NAME, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("dataset", NAME, nullable=True),
    sa.Column("target", sa.Text, nullable=True),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("outcome", sa.String(16), nullable=False),  # ok | denied | failed
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("run_id", OID, nullable=True),
    sa.Index("ix_audit_log_dataset", "dataset", "id"),
    sa.Index("ix_audit_log_user", "user_name", "id"),
)
