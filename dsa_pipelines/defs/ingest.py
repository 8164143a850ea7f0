"""The ``ingest`` job: upload files as a new dataset version, audit it, then publish it.

Write-audit-publish in one run, three steps:

1. ``stage_upload`` commits the files as a commit no branch points to
   (``Store.commit(..., publish=False, run_id=<this run>)``), registers its partitions
   in ``commits`` and in its dataset's ``dataset:<name>`` and reports the ``commit``,
   ``commit_schema`` and ``datasets/<name>`` materializations for them. Same content as
   the branch head → "no changes": the run succeeds and the later steps are skipped (no
   commit, no partition, nothing moves).
2. ``audit_commit`` reports the ``commit:schema_drift`` and ``commit:expectations``
   checks for the partition, then fails the step if a check failed with ERROR severity
   (drift under policy ``reject``, a failed expectation, an unusable suite).
3. ``publish_commit`` (skipped when the audit failed) moves the branch to the commit by
   compare-and-swap, reports old → new and the dataset partition's new status.

How the partition is chosen at run time: a run's partition key is fixed at launch, but a
commit's id is known only once the upload is staged (it hashes the content, the
parents and the time). So the job is an op graph rather than an asset job: its steps
*report* ``dg.AssetMaterialization(partition=key)`` and
``dg.AssetCheckEvaluation(partition=key)`` for the asset specs ``commit`` and
``commit_schema`` and the asset checks declared in :mod:`.audits`. The UI shows each
commit as a partition of ``commit`` with its checks, and the gate is the run's own
step order: ``publish_commit`` runs only after ``audit_commit`` succeeded. A failed audit
leaves the commit (and its partition, metadata and failed checks) inspectable and the
branch where it was.

The three steps are short and run in the run's own process (the in-process executor): a
process per step would cost more than the steps themselves.

Concurrency: launch ingest runs with :func:`ingest_run_tags` (``dsa/branch:
<dataset>/<branch>``); ``dagster.yaml`` allows one queued run per tag value. The
compare-and-swap on publish keeps the branch correct even without it: if another
writer moved the branch after staging, publishing fails and the commit stays staged.
"""


from pathlib import Path

import dagster as dg
from pydantic import Field

from dsa_pipelines.defs.audits import drift_audit, expectations_audit
from dsa_pipelines.defs.commit_metadata import COMMIT
from dsa_pipelines.defs.datasets import commit_events
from dsa_pipelines.defs.failures import failure, store_errors
from dsa_pipelines.defs.partitions import partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import DsaError, InvalidFile, KnownDigest, NewDataset, RefConflict

BRANCH_TAG = "dsa/branch"
COMMIT_TAG = "dsa/commit"
STATUS_TAG = "dsa/status"


class FileDigestConfig(dg.Config):
    """A file's SHA-256 with the stat it was taken at."""

    path: str = Field(description="The file, as in paths.")
    sha256: str = Field(description="Hex SHA-256 of its bytes.")
    size: int = Field(description="Its size in bytes then.")
    mtime_ns: int = Field(description="Its modification time (ns since the epoch) then.")


class IngestConfig(dg.Config):
    """Which files to upload, into which dataset and branch."""

    dataset: str = Field(description="Dataset to upload into (letters, digits, '.', '_', '-').")
    paths: list[str] = Field(
        description="Files to upload: CSV/TSV, Excel (.xlsx; one table per sheet) or Parquet. "
                    "Paths as seen by the Dagster process (absolute, or relative to its working folder).")
    branch: str = Field(default="main", description="Branch to publish to; it must exist.")
    message: str = Field(default="", description="Commit message (default: 'ingest <file names>').")
    author: str = Field(default="dagster", description="Who commits (recorded on the commit and in the reflog).")
    table: str | None = Field(
        default=None, description="Table name for a single CSV/Parquet file (default: the file name without "
                                  "extension).")
    sheets: list[str] = Field(default_factory=list,
                              description="Excel sheets to take, in order; empty = every sheet.")
    replace: bool = Field(default=False, description="The new version holds only the uploaded tables "
                                                     "(default: keep the branch's other tables).")
    create_dataset_if_missing: bool = Field(default=True,
                                            description="Create the dataset (with dataset_description) if it "
                                                        "does not exist.")
    dataset_description: str = Field(default="", description="Description of a dataset created by this run.")
    file_digests: list[FileDigestConfig] = Field(
        default_factory=list, description="SHA-256 of files the caller hashed already (the landing sensor does, to "
                                          "name its run): spares the upload one read. Used only while a file's size "
                                          "and mtime still match; leave empty when launching by hand.")


def ingest_run_tags(dataset: str, branch: str = "main") -> dict[str, str]:
    """The tags an ingest run should carry (one run at a time per dataset and branch)."""
    return {BRANCH_TAG: f"{dataset}/{branch}"}


def ingest_run_config(config: IngestConfig) -> dg.RunConfig:
    """A run config for the ``ingest`` job."""
    return dg.RunConfig(ops={"stage_upload": config})


def new_dataset(config: IngestConfig) -> NewDataset | None:
    """The dataset to create with the first commit, if the config allows creating one."""
    if not config.create_dataset_if_missing:
        return None
    files = ", ".join(Path(p).name for p in config.paths)
    return NewDataset(description=config.dataset_description or f"Ingested from {files}")


@dg.op(out={"staged": dg.Out(dict, is_required=False, description="The staged commit (absent: no changes).")})
def stage_upload(context: dg.OpExecutionContext, config: IngestConfig, store: StoreResource):  # noqa: ANN201
    """Write: commit the files as a commit no branch points to yet and register its partition."""
    opened = store.open()
    with store_errors("upload rejected"):
        if not config.paths:
            raise InvalidFile("no files given: set 'paths' to one or more CSV, Excel or Parquet files")
        # One streaming pass reads, validates and stores each file; a new dataset is created
        # atomically with its first commit, so a bad file leaves nothing behind.
        result = opened.commit(
            config.dataset, list(config.paths), branch=config.branch,
            message=config.message or f"ingest {', '.join(Path(p).name for p in config.paths)}",
            author=config.author, table=config.table, sheets=config.sheets or None, replace=config.replace,
            publish=False, run_id=context.run_id, meta={"source_files": [Path(p).name for p in config.paths]},
            create_dataset=new_dataset(config) or False,
            known_digests={d.path: KnownDigest(d.sha256, d.size, d.mtime_ns) for d in config.file_digests})
    context.instance.add_run_tags(context.run_id, {STATUS_TAG: result.status})
    if not result.changed:
        context.log.info(f"no changes: the files equal {config.dataset}/{config.branch} at {result.short_id}; "
                         "no commit was made and the branch did not move")
        return
    key = partition_key(result.commit_id)
    commit = opened.get_commit(config.dataset, result.commit_id)
    events = commit_events(opened, commit, config.branch, "staged", result)
    events.add_partitions(context.instance)
    context.instance.add_run_tags(context.run_id, {COMMIT_TAG: key})
    yield from events.materializations()
    context.log.info(f"staged {config.dataset} commit {key} for {config.branch} "
                     f"({commit.row_count:,} rows in {len(commit.tables)} table(s))")
    yield dg.Output({"dataset": config.dataset, "branch": config.branch, "commit_id": result.commit_id,
                     "partition": key, "author": config.author}, "staged", metadata={"commit": key})


@dg.op
def audit_commit(context: dg.OpExecutionContext, staged: dict, store: StoreResource):  # noqa: ANN201
    """Audit: schema drift and expectations on the staged commit; fails if a blocking check failed."""
    opened = store.open()
    audits = [drift_audit(opened, staged["dataset"], staged["commit_id"]),
              expectations_audit(opened, staged["dataset"], staged["commit_id"])]
    for audit in audits:
        yield audit.evaluation(staged["partition"], context.instance)
    blocking = [a for a in audits if a.blocks]
    if blocking:
        head = opened.get_ref(staged["dataset"], staged["branch"])
        raise dg.Failure(
            description=(f"audit failed — {'; '.join(f'{a.check_name}: {a.description}' for a in blocking)} — branch "
                         f"{staged['dataset']}/{staged['branch']} stays at {head.commit_id[:12] if head else '?'}; "
                         f"commit {staged['partition']} is kept for inspection"),
            metadata={"failed checks": ", ".join(a.check_name for a in blocking), "commit": staged["partition"]},
            allow_retries=False)
    yield dg.Output(staged, metadata={"checks": ", ".join(f"{a.check_name}: {'pass' if a.passed else 'warn'}"
                                                          for a in audits)})


@dg.op
def publish_commit(context: dg.OpExecutionContext, staged: dict, store: StoreResource):  # noqa: ANN201
    """Publish: move the branch to the audited commit by compare-and-swap."""
    opened = store.open()
    dataset, branch, commit_id = staged["dataset"], staged["branch"], staged["commit_id"]
    commit = opened.get_commit(dataset, commit_id)
    old = commit.parents[0]
    try:
        opened.publish(dataset, branch, commit_id, actor=staged["author"],
                       reason=f"ingest: {commit.message} (dagster run {context.run_id})")
    except RefConflict as e:
        raise failure(e, f"{dataset}/{branch} moved since {staged['partition']} was staged; the commit stays "
                         "staged — run the ingest again") from e
    except DsaError as e:
        raise failure(e, "publish refused") from e
    version = opened.log(dataset, branch, limit=1)[0].version
    context.instance.add_run_tags(context.run_id, {STATUS_TAG: "published"})
    context.log.info(f"published {dataset}/{branch}: {old[:12]} → {commit_id[:12]} (v{version})")
    yield dg.AssetObservation(COMMIT, partition=staged["partition"], metadata={
        "published": f"{dataset}/{branch} v{version}", "old head": old[:12], "new head": commit_id[:12]})
    # The dataset's partition shows the commit's latest status: published.
    yield commit_events(opened, commit, branch, "published").dataset_materialization()
    yield dg.Output(None, metadata={"branch": f"{dataset}/{branch}", "old": old[:12], "new": commit_id[:12],
                                    "version": version})


@dg.job(name="ingest", tags={"dsa/job": "ingest"}, executor_def=dg.in_process_executor)
def ingest_job() -> None:
    """Upload CSV/Excel/Parquet files as a new version of a dataset: stage the commit, audit it (schema
    drift, expectations), and move the branch only if the blocking audits pass."""
    publish_commit(audit_commit(stage_upload()))


defs = dg.Definitions(jobs=[ingest_job])
