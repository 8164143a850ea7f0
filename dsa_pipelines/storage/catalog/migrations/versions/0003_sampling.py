"""Sampling: samples, sampling runs and sampling rounds.

Revision ID: 0003_sampling
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sampling"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = sa.String(200)
OID = sa.String(64)
TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "samples",
        sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("branch", NAME, nullable=False),
        sa.Column("source_commit", OID, sa.ForeignKey("commits.id"), nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("created_by", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "sampling_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", NAME, nullable=False),
        sa.Column("sample_name", NAME, nullable=False),
        sa.Column("source_commit", OID, nullable=False),
        sa.Column("table_name", sa.String(128), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_round", sa.Integer, nullable=False),
        sa.Column("round_count", sa.Integer, nullable=False),
        sa.Column("warnings", sa.Text, nullable=False, server_default="[]"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("commits", sa.Text, nullable=False, server_default="[]"),
        sa.Column("dagster_run_id", sa.String(64), nullable=True),
        sa.Column("created_by", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
    )
    op.create_index("ix_sampling_runs_sample", "sampling_runs", ["dataset", "sample_name", "id"])
    op.create_table(
        "sampling_rounds",
        sa.Column("dataset", NAME, primary_key=True),
        sa.Column("sample_name", NAME, primary_key=True),
        sa.Column("round", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sampling_runs.id"), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("requested", sa.BigInteger, nullable=False),
        sa.Column("drawn", sa.BigInteger, nullable=False),
        sa.Column("eligible", sa.BigInteger, nullable=False),
        sa.Column("residual", sa.BigInteger, nullable=False),
        sa.Column("rows_object", OID, nullable=False),
        sa.Column("commit_id", OID, nullable=True),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.Column("warnings", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sampling_rounds")
    op.drop_index("ix_sampling_runs_sample", table_name="sampling_runs")
    op.drop_table("sampling_runs")
    op.drop_table("samples")
