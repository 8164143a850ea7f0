"""Per-commit assets (``commit``, ``commit_schema``) and the metadata users read on them.

Both assets are partitioned by ``commits`` (one partition per commit, key = the commit's
short id). They are declared as asset specs: a commit is not computed by Dagster from
upstream data but made by the store when a job (e.g. ``ingest``) stages an upload, and
that job reports the partition's materialization with this metadata.
"""

from __future__ import annotations

import dagster as dg

from dsa_pipelines.defs.partitions import commits_partitions
from dsa_pipelines.storage import Commit, CommitResult, TableInfo

COMMIT = dg.AssetKey("commit")
COMMIT_SCHEMA = dg.AssetKey("commit_schema")
GROUP = "commits"

commit_asset = dg.AssetSpec(
    COMMIT,
    partitions_def=commits_partitions,
    group_name=GROUP,
    kinds={"parquet"},
    description=(
        "A dataset version: an immutable commit of one or more tables (row packs + manifests in the store). "
        "One partition per commit; the metadata shows rows per table (new vs reused), parents, message, "
        "author and the Dagster run that made it. Its checks are the write-audit-publish audits."
    ),
)

commit_schema_asset = dg.AssetSpec(
    COMMIT_SCHEMA,
    deps=[commit_asset],
    partitions_def=commits_partitions,
    group_name=GROUP,
    description="The schema of every table of a commit: column names, Arrow and logical types, nullability.",
)


def table_schema(info: TableInfo) -> dg.TableSchema:
    """A table's columns as a Dagster table schema (nullable = holds a null in this version)."""
    if info.columns:
        columns = [
            dg.TableColumn(c.name, c.type, description=f"logical type {c.logical}; {c.nulls:,} null(s)",
                           constraints=dg.TableColumnConstraints(nullable=c.nullable))
            for c in info.columns
        ]
    else:
        columns = [dg.TableColumn(f.name, str(f.type)) for f in info.schema]
    return dg.TableSchema(columns=columns)


def _rows_table(commit: Commit, result: CommitResult | None) -> str:
    lines = ["| table | rows | new | reused | |", "|---|---:|---:|---:|---|"]
    uploaded = result.tables if result else {}
    for name, info in commit.tables.items():
        if name in uploaded:
            r = uploaded[name]
            lines.append(f"| {name} | {r.rows:,} | {r.new_rows:,} | {r.reused_rows:,} | "
                         f"{'changed' if r.changed else 'unchanged'} |")
        else:
            lines.append(f"| {name} | {info.row_count:,} | 0 | {info.row_count:,} | kept from parent |")
    if result is not None:
        lines += [f"| {name} | | | | removed |" for name in result.removed_tables]
    return "\n".join(lines)


def commit_metadata(commit: Commit, branch: str, status: str, result: CommitResult | None = None) -> dict:
    """Metadata of a ``commit`` partition.

    Args:
        commit: The commit.
        branch: The branch it is for.
        status: ``staged``, ``committed`` ...
        result: The commit call's result (rows new vs reused of the uploaded tables).
    """
    uploaded = result.tables.values() if result else ()
    metadata: dict = {
        "dataset": commit.dataset,
        "branch": branch,
        "status": status,
        "commit_id": commit.id,
        "parents": ", ".join(p[:12] for p in commit.parents) or "none",
        "message": commit.message,
        "author": commit.author,
        "created_at": commit.created_at,
        "tables": dg.MetadataValue.md(_rows_table(commit, result)),
        "dagster/row_count": commit.row_count,
        "new_rows": sum(t.new_rows for t in uploaded),
        "reused_rows": sum(t.reused_rows for t in uploaded),
    }
    if commit.run_id:
        metadata["dagster_run_id"] = dg.MetadataValue.dagster_run(commit.run_id)
    return metadata


def schema_metadata(commit: Commit) -> dict:
    """Metadata of a ``commit_schema`` partition: one table schema per table."""
    metadata: dict = {f"schema: {name}": dg.MetadataValue.table_schema(table_schema(info))
                      for name, info in commit.tables.items()}
    if len(commit.tables) == 1:
        metadata["dagster/column_schema"] = table_schema(next(iter(commit.tables.values())))
    metadata["tables"] = ", ".join(commit.tables) or "none"
    return metadata
