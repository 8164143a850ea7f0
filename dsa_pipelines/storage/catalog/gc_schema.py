"""Catalog tables of garbage collection and dataset lifecycle (migration ``0005_gc``).

- ``gc_lock``: the lock row that serialises GC runs on SQLite (PostgreSQL uses an
  advisory lock instead); ``holder`` names the process, ``heartbeat_at`` shows it alive.
- ``gc_runs``: one row per finished (or crashed) GC run, with its report as JSON.
- ``gc_registrations``: every commit a writer inserts, with the objects it references,
  written in the commit's own transaction. GC treats registrations newer than its mark
  snapshot as roots; older ones are pruned by the next run.
- ``gc_tombstones``: objects a GC run condemned. Written in the sweep transaction before
  any file is deleted; a writer whose commit references a tombstoned object is refused
  (retryable). Removed once the file is gone.
- ``dataset_events``: the audit trail of dataset deletes, restores and purges.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import NAME, OID, TIME, metadata

gc_lock = sa.Table(
    "gc_lock",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("acquired_at", TIME, nullable=False),
    sa.Column("heartbeat_at", TIME, nullable=False),
)

gc_runs = sa.Table(
    "gc_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", TIME, nullable=False),
    sa.Column("finished_at", TIME, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("report", sa.Text, nullable=False, server_default="{}"),  # JSON: GcReport.to_dict()
)

gc_registrations = sa.Table(
    "gc_registrations",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("commit_id", OID, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # commit | manifests | packs
    sa.Column("object_id", OID, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
    sa.Index("ix_gc_registrations_object", "object_id"),
)

gc_tombstones = sa.Table(
    "gc_tombstones",
    metadata,
    sa.Column("object_id", OID, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("suffix", sa.String(16), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
)

dataset_events = sa.Table(
    "dataset_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", NAME, nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # delete | restore | purge
    sa.Column("actor", NAME, nullable=False, server_default=""),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
)
