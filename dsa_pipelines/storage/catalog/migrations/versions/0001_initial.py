"""Initial catalog: datasets, commits, parents, tables, packs, refs, reflog.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NAME = sa.String(200)
OID = sa.String(64)
TIME = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_by", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("default_branch", NAME, nullable=False, server_default="main"),
        sa.Column("drift_policy", sa.String(16), nullable=False, server_default="warn"),
        sa.Column("settings", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "commits",
        sa.Column("id", OID, primary_key=True),
        sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), nullable=False),
        sa.Column("tree_id", OID, nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("author", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("meta", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_commits_dataset", "commits", ["dataset"])
    op.create_table(
        "commit_parents",
        sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("parent_id", OID, sa.ForeignKey("commits.id"), nullable=False),
    )
    op.create_index("ix_commit_parents_parent_id", "commit_parents", ["parent_id"])
    op.create_table(
        "commit_tables",
        sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("manifest_id", OID, nullable=False),
        sa.Column("content_id", OID, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("arrow_schema", sa.Text, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("stats", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "packs",
        sa.Column("id", OID, primary_key=True),
        sa.Column("schema_fp", OID, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_packs_schema_fp", "packs", ["schema_fp"])
    op.create_table(
        "refs",
        sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
        sa.Column("name", NAME, primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_table(
        "reflog",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", NAME, nullable=False),
        sa.Column("ref_name", NAME, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("old_commit", OID, nullable=True),
        sa.Column("new_commit", OID, nullable=True),
        sa.Column("actor", NAME, nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_reflog_ref", "reflog", ["dataset", "ref_name", "id"])


def downgrade() -> None:
    for name in ("reflog", "refs", "packs", "commit_tables", "commit_parents", "commits", "datasets"):
        op.drop_table(name)
