"""Access control (users, grants, protected branches, audit trail) and the dataset search index.

Existing datasets are indexed; they get no grants, so until an admin grants them only
store admins (the first user to open the store becomes one) see them.

Revision ID: 0007_access
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_access"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME = sa.String(200)
OID = sa.String(64)
TIME = sa.String(32)


def _access_tables() -> None:
    op.create_table(
        "users",
        sa.Column("name", NAME, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("created_by", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "grants",
        sa.Column("dataset", NAME, primary_key=True),
        sa.Column("principal", NAME, primary_key=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("granted_by", NAME, nullable=False, server_default=""),
        sa.Column("granted_at", TIME, nullable=False),
    )
    op.create_index("ix_grants_principal", "grants", ["principal", "dataset"])
    op.create_table(
        "protected_branches",
        sa.Column("dataset", NAME, primary_key=True),
        sa.Column("branch", NAME, primary_key=True),
        sa.Column("require_merge", sa.Boolean, nullable=False),
        sa.Column("allow_reset", sa.Boolean, nullable=False),
        sa.Column("allow_delete", sa.Boolean, nullable=False),
        sa.Column("created_by", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("user_name", NAME, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("dataset", NAME, nullable=True),
        sa.Column("target", sa.Text, nullable=True),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("run_id", OID, nullable=True),
    )
    op.create_index("ix_audit_log_dataset", "audit_log", ["dataset", "id"])
    op.create_index("ix_audit_log_user", "audit_log", ["user_name", "id"])


def _search_tables() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", NAME, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("tags", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", NAME, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("head", OID, nullable=True),
    )
    op.create_index("ix_search_documents_created_by", "search_documents", ["created_by"])
    op.create_index("ix_search_documents_updated_at", "search_documents", ["updated_at"])
    op.create_table(
        "search_tags",
        sa.Column("dataset", NAME, primary_key=True),
        sa.Column("tag", NAME, primary_key=True),
    )
    op.create_index("ix_search_tags_tag", "search_tags", ["tag", "dataset"])
    op.create_table(
        "search_trigrams",
        sa.Column("trigram", sa.String(16), primary_key=True),
        sa.Column("term", NAME, primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("grams", sa.Integer, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE search_fts (id integer PRIMARY KEY, document tsvector NOT NULL)")
        op.execute("CREATE INDEX ix_search_fts_document ON search_fts USING gin (document)")
    else:
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(name, description, tags, "
                   "tokenize = 'porter unicode61')")


def _index_existing() -> None:
    from dsa_pipelines.storage.catalog import search_index  # noqa: PLC0415 — the one indexing code path

    conn = op.get_bind()
    for (name,) in conn.execute(sa.text("SELECT name FROM datasets ORDER BY name")):
        search_index.index_dataset(conn, name)
        head = conn.execute(sa.text("SELECT r.name, r.commit_id FROM refs r JOIN datasets d ON d.name = r.dataset "
                                    "AND d.default_branch = r.name WHERE r.dataset = :d"), {"d": name}).first()
        if head is not None:
            search_index.on_branch_move(conn, name, head.name, head.commit_id)


def upgrade() -> None:
    _access_tables()
    _search_tables()
    _index_existing()


def downgrade() -> None:
    op.execute("DROP TABLE search_fts")
    for name in ("search_trigrams", "search_tags", "search_documents", "audit_log", "protected_branches",
                 "grants", "users"):
        op.drop_table(name)
