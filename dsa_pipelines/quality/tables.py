"""Catalog tables of per-commit statistics and profiles (migration ``0002_statistics``).

Both are caches keyed by (commit, table): a commit never changes, so its statistics
and its profile are computed once and then read. Payloads are JSON text.
"""

from __future__ import annotations

import sqlalchemy as sa

from dsa_pipelines.storage.extension import NAME, OID, TIME, metadata

commit_statistics = sa.Table(
    "commit_statistics",
    metadata,
    sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("format", sa.Integer, nullable=False),  # payload format version
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("computed_at", TIME, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: TableStatistics.to_dict()
)

commit_profiles = sa.Table(
    "commit_profiles",
    metadata,
    sa.Column("commit_id", OID, sa.ForeignKey("commits.id"), primary_key=True),
    sa.Column("table_name", sa.String(128), primary_key=True),
    sa.Column("dataset", NAME, nullable=False),
    sa.Column("report_id", OID, nullable=False),  # object id of the HTML ("reports" kind)
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("sample_rows", sa.BigInteger, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: ProfileSummary (small, never the full report)
)
