"""Declared table keys.

Revision ID: 0004_table_keys
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_table_keys"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = sa.String(200)
TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "table_keys",
        sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("table_name", sa.String(128), primary_key=True),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("table_keys")
