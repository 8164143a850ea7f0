"""The persistent key index: live runs per schema and the packs each covers.

Revision ID: 0006_key_index
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_key_index"
down_revision = "0001"
branch_labels = None
depends_on = None

OID = sa.String(64)
TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "key_index_runs",
        sa.Column("id", OID, primary_key=True),
        sa.Column("schema_fp", OID, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("min_k1", sa.BigInteger, nullable=False),
        sa.Column("max_k1", sa.BigInteger, nullable=False),
        sa.Column("pack_count", sa.Integer, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_key_index_runs_schema_fp", "key_index_runs", ["schema_fp"])
    op.create_table(
        "key_index_run_packs",
        sa.Column("run_id", OID, sa.ForeignKey("key_index_runs.id"), primary_key=True),
        sa.Column("pack_id", OID, primary_key=True),
    )
    op.create_index("ix_key_index_run_packs_pack", "key_index_run_packs", ["pack_id"])


def downgrade() -> None:
    op.drop_table("key_index_run_packs")
    op.drop_table("key_index_runs")
