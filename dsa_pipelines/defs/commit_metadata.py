"""Per-commit assets (``commit``, ``commit_schema``) and the metadata users read on them.

Both assets are partitioned by ``commits`` (one partition per commit, key = the commit's
short id). They are declared as asset specs: a commit is not computed by Dagster from
upstream data but made by the store when a job (e.g. ``ingest``) stages an upload, and
that job reports the partition's materialization with this metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from dsa_pipelines.defs.partitions import commits_partitions
from dsa_pipelines.storage import Commit, CommitResult, Diff, DsaError, Store, TableDiff, TableInfo

PREVIEW_ROWS = 20

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


@dataclass(frozen=True)
class TableRows:
    """One table's row counts in a commit, against the commit's first parent."""

    name: str
    rows: int
    new_rows: int
    reused_rows: int
    state: str  # changed / unchanged / kept from parent / removed


def table_rows(commit: Commit, parent: Commit | None, result: CommitResult | None = None) -> list[TableRows]:
    """Rows per table of a commit: from the commit call's result when there is one, else from the
    counts recorded on the commit's tables (so a commit made by the CLI or API shows its real counts).

    Args:
        commit: The commit.
        parent: Its first parent (None for a root commit).
        result: The commit call's result, when the caller made the commit.
    """
    uploaded = result.tables if result else {}
    before = parent.tables if parent else {}
    rows = []
    for name, info in commit.tables.items():
        if name in uploaded:
            r = uploaded[name]
            rows.append(TableRows(name, r.rows, r.new_rows, r.reused_rows, "changed" if r.changed else "unchanged"))
        elif name in before and before[name].content_id == info.content_id:
            rows.append(TableRows(name, info.row_count, 0, info.row_count, "kept from parent"))
        else:
            new = int(info.stats.get("new_rows", 0))
            reused = int(info.stats.get("reused_rows", info.row_count - new))
            rows.append(TableRows(name, info.row_count, new, reused, "changed"))
    removed = result.removed_tables if result else tuple(n for n in before if n not in commit.tables)
    rows += [TableRows(name, 0, 0, 0, "removed") for name in removed]
    return rows


def _rows_table(rows: list[TableRows]) -> str:
    lines = ["| table | rows | new | reused | |", "|---|---:|---:|---:|---|"]
    for r in rows:
        if r.state == "removed":
            lines.append(f"| {r.name} | | | | removed |")
        else:
            lines.append(f"| {r.name} | {r.rows:,} | {r.new_rows:,} | {r.reused_rows:,} | {r.state} |")
    return "\n".join(lines)


def null_rate(commit: Commit) -> float:
    """The share of null cells over every table of the commit (0 for an empty commit)."""
    cells = sum(t.row_count * len(t.schema) for t in commit.tables.values())
    nulls = sum(c.nulls for t in commit.tables.values() for c in t.columns)
    return round(nulls / cells, 6) if cells else 0.0


def _cell(value: object) -> str:
    return "null" if value is None else str(value)


def preview_table(td: TableDiff, limit: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    """Up to ``limit`` differing rows as a Dagster table: change, row ids, and ``old → new`` per changed cell."""
    rows = td.rows(limit=limit).to_pylist()  # at most `limit` rows
    meta = {"change", "base_logical_row_id", "logical_row_id", "changed_columns"}
    data = [c for c in td.rows(limit=0).column_names if c not in meta and not c.endswith("__old")]
    records = []
    for r in rows:
        changed = set(r["changed_columns"] or [])
        cells = {c: f"{_cell(r[c + '__old'])} → {_cell(r[c])}" if c in changed else _cell(r[c]) for c in data}
        records.append(dg.TableRecord({"change": r["change"], "base row": _cell(r["base_logical_row_id"]),
                                       "row": _cell(r["logical_row_id"]), **cells}))
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in ("change", "base row", "row", *data)])
    return dg.MetadataValue.table(records, schema=schema)


def diff_summary(diff: Diff) -> str:
    """Markdown: per table its status, counts and schema changes."""
    lines = ["| table | status | added | removed | changed | schema |", "|---|---|---:|---:|---:|---|"]
    for name, t in diff.tables.items():
        s = t.schema
        schema = "; ".join([*(f"+{n} ({ty})" for n, ty in s.added), *(f"-{n}" for n, _ in s.removed),
                            *(f"{n}: {a}→{b}" for n, a, b in s.retyped), *(f"moved {n}" for n in s.reordered)])
        lines.append(f"| {name} | {t.status} | {t.added:,} | {t.removed:,} | {t.changed:,} | {schema or '-'} |")
    return "\n".join(lines)


def diff_metadata(diff: Diff) -> dict:
    """The summary, counts and a preview of changed rows per differing table."""
    metadata: dict = {"changes": dg.MetadataValue.md(diff_summary(diff)), "rows added": diff.added,
                      "rows removed": diff.removed, "rows changed": diff.changed}
    for name, t in diff.tables.items():
        if t.added or t.removed or t.changed:
            metadata[f"changed rows: {name}"] = preview_table(t)
    return metadata


def changes_metadata(store: Store, commit: Commit) -> dict:
    """"Changes vs first parent" of a commit (computed O(changes) from the manifests)."""
    if not commit.parents:
        return {}
    try:
        diff = store.diff(commit.dataset, commit.parents[0], commit.id)
    except DsaError as e:
        return {"changes": f"unavailable: {e}"}
    return {"changes vs": commit.parents[0][:12], **diff_metadata(diff)}


def commit_metadata(commit: Commit, branch: str, status: str, result: CommitResult | None = None, *,
                    parent: Commit | None = None, version: int | None = None, store: Store | None = None) -> dict:
    """Metadata of a commit partition (of ``commit`` and of ``datasets/<name>``), leading with
    what a reader looks for first: dataset, branch, version, message, author, time.

    Args:
        commit: The commit.
        branch: The branch it is for (or the branches it is on).
        status: ``staged``, ``published`` ...
        result: The commit call's result (rows new vs reused of the uploaded tables).
        parent: The commit's first parent; without a result, its tables tell which ones changed.
        version: The commit's version number (its depth in its first-parent chain).
        store: The store, to add the changes against the first parent (counts, schema, preview).
    """
    rows = table_rows(commit, parent, result)
    metadata: dict = {
        "dataset": commit.dataset,
        "branch": branch,
        "version": f"v{version}" if version is not None else "?",
        "message": commit.message,
        "author": commit.author,
        "created_at": commit.created_at,
        "status": status,
        "commit_id": commit.id,
        "parents": ", ".join(p[:12] for p in commit.parents) or "none",
        "tables": dg.MetadataValue.md(_rows_table(rows)),
        "dagster/row_count": commit.row_count,
        "new_rows": sum(r.new_rows for r in rows),
        "reused_rows": sum(r.reused_rows for r in rows if r.state != "kept from parent"),
        "null_rate": null_rate(commit),
    }
    if len(commit.tables) == 1:
        metadata["dagster/column_schema"] = table_schema(next(iter(commit.tables.values())))
    if commit.run_id:
        metadata["dagster_run_id"] = dg.MetadataValue.dagster_run(commit.run_id)
    if store is not None:
        metadata.update(changes_metadata(store, commit))
    return metadata


def schema_metadata(commit: Commit) -> dict:
    """Metadata of a ``commit_schema`` partition: one table schema per table."""
    metadata: dict = {f"schema: {name}": dg.MetadataValue.table_schema(table_schema(info))
                      for name, info in commit.tables.items()}
    if len(commit.tables) == 1:
        metadata["dagster/column_schema"] = table_schema(next(iter(commit.tables.values())))
    metadata["tables"] = ", ".join(commit.tables) or "none"
    return metadata
