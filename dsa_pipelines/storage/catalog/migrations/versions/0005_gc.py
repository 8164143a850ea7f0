"""Garbage collection, integrity and dataset lifecycle: soft-delete columns, GC lock, runs,
registrations, tombstones and the dataset audit trail.

Revision ID: 0005_gc
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_gc"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = sa.String(200)
OID = sa.String(64)
TIME = sa.String(32)


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("deleted_at", TIME, nullable=True))
        batch.add_column(sa.Column("deleted_by", NAME, nullable=True))
        batch.add_column(sa.Column("delete_reason", sa.Text, nullable=True))
    op.create_table(
        "gc_lock",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", TIME, nullable=False),
        sa.Column("heartbeat_at", TIME, nullable=False),
    )
    op.create_table(
        "gc_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("report", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "gc_registrations",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("commit_id", OID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("object_id", OID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_gc_registrations_object", "gc_registrations", ["object_id"])
    op.create_table(
        "gc_tombstones",
        sa.Column("object_id", OID, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("suffix", sa.String(16), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "dataset_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", NAME, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", NAME, nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_dataset_events_dataset", "dataset_events", ["dataset"])


def downgrade() -> None:
    op.drop_table("dataset_events")
    op.drop_table("gc_tombstones")
    op.drop_index("ix_gc_registrations_object", "gc_registrations")
    op.drop_table("gc_registrations")
    op.drop_table("gc_runs")
    op.drop_table("gc_lock")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("delete_reason")
        batch.drop_column("deleted_by")
        batch.drop_column("deleted_at")
