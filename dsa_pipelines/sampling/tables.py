"""Catalog tables of sampling: samples, their runs and their rounds (migration ``0003_sampling``).

- ``samples``: one row per (dataset, sample name): the branch ``samples/<name>``, the
  source commit and table every round draws from.
- ``sampling_runs``: one row per call of ``draw_sample`` that got as far as writing:
  parameters (JSON), seed, status (running / succeeded / failed), warnings, error, the
  Dagster run id and the commits created.
- ``sampling_rounds``: one row per round of a sample: method, requested / drawn /
  eligible / residual counts, the round's commit and the object holding its drawn
  logical row ids (a ``reports`` object: Parquet, one sorted int64 column).
"""

from __future__ import annotations

import sqlalchemy as sa

from dsa_pipelines.storage.extension import NAME, OID, TIME, metadata

samples = sa.Table(
    "samples",
    metadata,
    sa.Column("dataset", NAME, sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("name", NAME, primary_key=True),
    sa.Column("branch", NAME, nullable=False),
    sa.Column("source_commit", OID, sa.ForeignKey("commits.id"), nullable=False),
    sa.Column("table_name", sa.String(128), nullable=False),
    sa.Column("created_by", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
)

sampling_runs = sa.Table(
    "sampling_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", NAME, nullable=False),
    sa.Column("sample_name", NAME, nullable=False),
    sa.Column("source_commit", OID, nullable=False),
    sa.Column("table_name", sa.String(128), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: the whole spec
    sa.Column("status", sa.String(16), nullable=False),  # running | succeeded | failed
    sa.Column("first_round", sa.Integer, nullable=False),
    sa.Column("round_count", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("commits", sa.Text, nullable=False, server_default="[]"),  # JSON list of commit ids
    sa.Column("dagster_run_id", sa.String(64), nullable=True),
    sa.Column("created_by", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("finished_at", TIME, nullable=True),
    sa.Index("ix_sampling_runs_sample", "dataset", "sample_name", "id"),
)

sampling_rounds = sa.Table(
    "sampling_rounds",
    metadata,
    sa.Column("dataset", NAME, primary_key=True),
    sa.Column("sample_name", NAME, primary_key=True),
    sa.Column("round", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sampling_runs.id"), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON: the round's spec
    sa.Column("requested", sa.BigInteger, nullable=False),
    sa.Column("drawn", sa.BigInteger, nullable=False),
    sa.Column("eligible", sa.BigInteger, nullable=False),
    sa.Column("residual", sa.BigInteger, nullable=False),
    sa.Column("rows_object", OID, nullable=False),
    sa.Column("commit_id", OID, nullable=True),  # null while the run is writing
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON: strata, interval ...
    sa.Column("warnings", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("created_at", TIME, nullable=False),
)
