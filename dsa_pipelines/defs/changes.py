"""Diff, merge, row edits and revert from the launchpad.

- ``diff``: two revisions (optional key) → the run shows per-table counts, schema changes,
  a preview of changed rows and the path of the HTML diff it wrote.
- ``merge``: write-audit-publish for merges. ``stage_merge`` merges without moving the
  branch (a merge commit no branch points to, or the fast-forward target) and registers
  its ``commits`` partition; the ingest job's ``audit_commit`` step runs the same audits
  (schema drift policy, expectations); ``publish_merge`` moves the branch by
  compare-and-swap. Conflicts fail the run with the conflicts as a table in its
  metadata; nothing moves.
- ``edit_rows``: a changes file (CSV with an action column, or JSON) → a new commit.
- ``revert``: undo a commit's change on top of a branch.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
from pydantic import Field

from dsa_pipelines.defs.commit_metadata import COMMIT, diff_metadata
from dsa_pipelines.defs.datasets import commit_events
from dsa_pipelines.defs.failures import failure
from dsa_pipelines.defs.ingest import audit_commit
from dsa_pipelines.defs.partitions import partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import CommitResult, DsaError, MergeConflict, RefConflict, Store, read_changes

REVISION_HELP = "a branch, a tag, a commit id prefix, main~2, v3 or main@{2026-11-20T10:00}"
STRATEGY_HELP = "ours, theirs, fail, max or min"


def _conflicts_table(conflicts: pa.Table) -> dg.TableMetadataValue:
    names = conflicts.column_names
    records = [dg.TableRecord({k: "" if v is None else str(v) for k, v in r.items()})
               for r in conflicts.slice(0, 200).to_pylist()]  # at most 200 shown
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=[dg.TableColumn(n, "string")
                                                                          for n in names]))


def _register(context: dg.OpExecutionContext, store: Store, dataset: str, branch: str, commit_id: str,
              status: str, result: CommitResult | None = None) -> list[dg.AssetMaterialization]:
    """Register a new commit's partitions (``commits`` and its dataset's) and describe it on them."""
    events = commit_events(store, store.get_commit(dataset, commit_id), branch, status, result)
    events.add_partitions(context.instance)
    return events.materializations()


def _committed(context: dg.OpExecutionContext, store: Store, dataset: str, branch: str,
               res: CommitResult) -> Iterator[dg.AssetMaterialization | dg.Output]:
    """An edit's or revert's outcome: the new commit's partitions (if one was made) and the step's output."""
    if res.changed:
        yield from _register(context, store, dataset, branch, res.commit_id, res.status, res)
    yield dg.Output(None, metadata={"status": res.status, "commit": res.short_id})


# ------------------------------------------------------------------------- diff
class DiffConfig(dg.Config):
    """Two revisions of a dataset to compare."""

    dataset: str = Field(description="The dataset.")
    base: str = Field(description=f"The old side: {REVISION_HELP}.")
    target: str = Field(default="", description="The new side (empty: the default branch head).")
    key: list[str] = Field(default_factory=list, description="Columns pairing rows (empty: the declared key, else "
                                                             "keyless).")
    table: str = Field(default="", description="Only this table (empty: all).")
    html_dir: str = Field(default="data/diffs", description="Folder for the HTML diff (relative to the Dagster "
                                                             "process's working folder, or absolute).")


@dg.op(name="diff_revisions", out=dg.Out(dg.Nothing))
def diff_op(context: dg.OpExecutionContext, config: DiffConfig, store: StoreResource) -> dg.Output:
    """Diff two revisions: counts, schema changes, a preview of changed rows, an HTML diff."""
    s = store.open()
    try:
        diff = s.diff(config.dataset, config.base, config.target or None, table=config.table or None,
                      key=config.key or None)
    except DsaError as e:
        raise failure(e, "diff failed") from e
    folder = Path(config.html_dir or "data/diffs")
    path = diff.to_html(folder / f"{config.dataset}-{diff.base[:12]}-{diff.target[:12]}.html")
    context.log.info(f"{config.dataset} {diff.base[:12]}..{diff.target[:12]}: {diff.added} added, "
                     f"{diff.removed} removed, {diff.changed} changed")
    return dg.Output(None, metadata={"base": diff.base[:12], "target": diff.target[:12],
                                     "html diff": dg.MetadataValue.path(str(path.resolve())),
                                     **diff_metadata(diff)})


@dg.job(name="diff", tags={"dsa/kind": "changes"})
def diff_job() -> None:
    """Compare two revisions of a dataset: rows added, removed and changed per table, schema changes, a preview
    of changed rows with old → new cells, and an HTML diff (daff highlighter format)."""
    diff_op()


# ------------------------------------------------------------------------ merge
class MergeConfig(dg.Config):
    """What to merge into which branch, and how conflicts are settled."""

    dataset: str = Field(description="The dataset.")
    source: str = Field(description=f"What to merge ('theirs'): {REVISION_HELP}.")
    into: str = Field(default="main", description="The branch that moves ('ours').")
    strategies: dict[str, str] = Field(default_factory=dict,
                                       description=f"Per column, how a cell conflict is settled: {STRATEGY_HELP}.")
    default: str = Field(default="fail", description=f"Strategy for the other columns: {STRATEGY_HELP}.")
    rows: str = Field(default="", description="Row conflicts (changed vs deleted): ours, theirs or fail (empty: "
                                              "the default when it is ours/theirs, else fail).")
    key: list[str] = Field(default_factory=list, description="Columns pairing rows (empty: the declared key).")
    message: str = Field(default="", description="Merge commit message (default: 'Merge <source> into <into>').")
    author: str = Field(default="dagster", description="Who merges (recorded on the commit and in the reflog).")


@dg.op(out={"staged": dg.Out(dict, is_required=False, description="The commit to audit and publish.")})
def stage_merge(context: dg.OpExecutionContext, config: MergeConfig, store: StoreResource):
    """Write: the three-way merge as a commit no branch points to yet (conflicts fail the run)."""
    s = store.open()
    try:
        res = s.merge(config.dataset, config.source, config.into, strategies=config.strategies,
                      default=config.default, rows=config.rows or None, key=config.key or None,
                      message=config.message, author=config.author, publish=False, run_id=context.run_id)
    except DsaError as e:
        raise failure(e, "merge refused") from e
    if res.status == "conflicts":
        raise dg.Failure(
            description=f"{res.conflicts.num_rows} conflict(s) merging {config.source} into {config.into}; nothing "
                        "moved. Settle them with strategies, or resolve them with Store.merge(resolutions=...).",
            metadata={"conflicts": _conflicts_table(res.conflicts), "conflict count": res.conflicts.num_rows,
                      "base": (res.base or "none")[:12]}, allow_retries=False)
    if res.status == "up_to_date":
        context.log.info(f"{config.into} already contains {config.source}; nothing to do")
        return
    yield from _register(context, s, config.dataset, config.into, res.commit_id, res.status)
    context.log.info(f"{res.status}: {config.source} into {config.into} as {res.short_id} (base "
                     f"{(res.base or 'none')[:12]}); auditing before publishing")
    yield dg.Output({"dataset": config.dataset, "branch": config.into, "commit_id": res.commit_id,
                     "partition": partition_key(res.commit_id), "author": config.author, "ours": res.ours,
                     "status": res.status}, "staged", metadata={"commit": res.short_id, "status": res.status})


@dg.op
def publish_merge(context: dg.OpExecutionContext, staged: dict, store: StoreResource):
    """Publish: move the branch from the head the merge was made on to the audited commit (compare-and-swap)."""
    s = store.open()
    dataset, branch, commit_id = staged["dataset"], staged["branch"], staged["commit_id"]
    try:
        s.publish(dataset, branch, commit_id, expected=staged["ours"], actor=staged["author"],
                  reason=f"merge ({staged['status']}, dagster run {context.run_id})")
    except RefConflict as e:
        raise dg.Failure(description=f"{dataset}/{branch} moved since the merge was staged; run the merge again",
                         allow_retries=False) from e
    yield dg.AssetObservation(COMMIT, partition=staged["partition"], metadata={
        "published": f"{dataset}/{branch}", "old head": staged["ours"][:12], "new head": commit_id[:12]})
    yield dg.Output(None, metadata={"branch": f"{dataset}/{branch}", "old": staged["ours"][:12],
                                    "new": commit_id[:12]})


@dg.job(name="merge", tags={"dsa/kind": "changes"})
def merge_job() -> None:
    """Three-way merge a revision into a branch with per-column strategies; audit the result (schema drift,
    expectations) and move the branch only if the audits pass. Conflicts fail the run and move nothing."""
    publish_merge(audit_commit(stage_merge()))


# -------------------------------------------------------------------- edit_rows
class EditRowsConfig(dg.Config):
    """A changes file to apply to one table of a branch."""

    dataset: str = Field(description="The dataset.")
    branch: str = Field(default="main", description="The branch to commit to.")
    changes_path: str = Field(description="CSV with an 'action' column (add, remove, update) or JSON "
                                          "({add, remove, update}); rows are named by the declared key, else by "
                                          "logical_row_id.")
    table: str = Field(default="", description="The table (empty: the only one).")
    base: str = Field(default="", description="The revision the changes were made against (empty: the head); a "
                                              "moved branch is three-way merged.")
    message: str = Field(default="", description="Commit message.")
    author: str = Field(default="dagster", description="Who edits.")


@dg.op(name="edit_table_rows", out=dg.Out(dg.Nothing))
def edit_rows_op(context: dg.OpExecutionContext, config: EditRowsConfig, store: StoreResource):
    """Apply the changes file as a new commit on the branch."""
    s = store.open()
    try:
        info = s.table_info(config.dataset, config.base or config.branch, config.table or None)
        add, remove, update = read_changes(config.changes_path, s.table_key(config.dataset, info.name))
        res = s.edit(config.dataset, config.branch, table=info.name, add=add, remove=remove, update=update,
                     base=config.base or None, message=config.message, author=config.author, run_id=context.run_id)
    except DsaError as e:
        raise failure(e, "edit rejected") from e
    yield from _committed(context, s, config.dataset, config.branch, res)


@dg.job(name="edit_rows", tags={"dsa/kind": "changes"})
def edit_rows_job() -> None:
    """Add, remove and update rows of a table from a changes file (CSV with an action column, or JSON)."""
    edit_rows_op()


# ----------------------------------------------------------------------- revert
class RevertConfig(dg.Config):
    """The commit to undo and the branch to undo it on."""

    dataset: str = Field(description="The dataset.")
    branch: str = Field(default="main", description="The branch to commit the revert to.")
    commit: str = Field(description=f"The commit whose change is undone: {REVISION_HELP}.")
    mainline: int = Field(default=0, description="For a merge commit: the parent (1-based) it is undone against.")
    author: str = Field(default="dagster", description="Who reverts.")


@dg.op(name="revert_commit", out=dg.Out(dg.Nothing))
def revert_op(context: dg.OpExecutionContext, config: RevertConfig, store: StoreResource):
    """Commit the inverse of the commit's change on top of the branch head (later changes survive)."""
    s = store.open()
    try:
        res = s.revert(config.dataset, config.branch, config.commit, mainline=config.mainline or None,
                       author=config.author, run_id=context.run_id)
    except MergeConflict as e:
        raise dg.Failure(description=f"revert refused: {e}", metadata={"conflicts": _conflicts_table(e.conflicts)},
                         allow_retries=False) from e
    except DsaError as e:
        raise failure(e, "revert refused") from e
    yield from _committed(context, s, config.dataset, config.branch, res)


@dg.job(name="revert", tags={"dsa/kind": "changes"})
def revert_job() -> None:
    """Undo a commit's change (against its parent) with a new commit on top of a branch."""
    revert_op()


defs = dg.Definitions(jobs=[diff_job, merge_job, edit_rows_job, revert_job])
