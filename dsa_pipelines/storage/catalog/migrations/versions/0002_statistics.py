"""Per-commit statistics and profile summaries.

Revision ID: 0002_statistics
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_statistics"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = sa.String(200)
OID = sa.String(64)
TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "commit_statistics",
        sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
        sa.Column("table_name", sa.String(128), primary_key=True),
        sa.Column("format", sa.Integer, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("computed_at", TIME, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "commit_profiles",
        sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
        sa.Column("table_name", sa.String(128), primary_key=True),
        sa.Column("dataset", NAME, nullable=False),
        sa.Column("report_id", OID, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("sample_rows", sa.BigInteger, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("commit_profiles")
    op.drop_table("commit_statistics")
