"""Store maintenance: garbage collection (weekly), integrity check (daily), dataset delete/restore.

- ``garbage_collection`` removes commits no ref, recent reflog entry, young upload or
  sample record reaches, with their manifests and row packs, and compacts packs that
  are mostly dead. It is safe while uploads run (see ``docs/gc.md``). The run shows
  what it removed and kept (a table), the seconds per phase (a table) and the bytes
  freed; the ``commits`` partitions of the collected commits are deleted so the UI
  lists only commits that exist. Schedule ``weekly_garbage_collection`` is on by default.
- ``fsck`` checks every ref, commit, manifest, range and object (``deep``: every row's
  hash too). A problem fails the run, and the failure lists what is broken. Schedule
  ``daily_fsck`` is on by default.
- ``delete_dataset`` / ``restore_dataset``: soft delete (hidden, reads and writes
  refused, recorded with who and why) and its undo.
"""

from datetime import timedelta

import dagster as dg
from pydantic import Field

from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.ref_jobs import ACTOR_DESCRIPTION, _call
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import AmbiguousRevision, FsckReport, GcReport, NotFound, Store


class GcConfig(dg.Config):
    """How garbage collection runs."""

    dry_run: bool = Field(default=False, description="Only report what would be removed; change nothing.")
    grace_hours: float = Field(default=1.0, ge=0, description="Never remove anything younger than this "
                                                             "(uploads in flight survive).")
    retention_days: float = Field(default=30.0, ge=0, description="Keep reflog entries (time travel, rollbacks) "
                                                                  "and soft-deleted datasets this long.")


def _gc_tables(report: GcReport) -> dict[str, dg.MetadataValue]:
    objects = dg.MetadataValue.table(
        records=[dg.TableRecord({"kind": k, "removed": r, "kept": kept}) for k, r, kept in (
            ("commits", report.commits_removed, report.commits_kept),
            ("manifests", report.manifests_removed, report.manifests_kept),
            ("packs", report.packs_removed, report.packs_kept),
            ("other files", report.other_removed, 0))],
        schema=dg.TableSchema(columns=[dg.TableColumn("kind", "string"), dg.TableColumn("removed", "int"),
                                       dg.TableColumn("kept", "int")]))
    phases = dg.MetadataValue.table(
        records=[dg.TableRecord({"phase": k, "seconds": float(v)}) for k, v in report.seconds.items()],
        schema=dg.TableSchema(columns=[dg.TableColumn("phase", "string"), dg.TableColumn("seconds", "float")]))
    return {"objects": objects, "phases": phases}


def _stale_partitions(store: Store, instance: dg.DagsterInstance, removed: tuple[str, ...]) -> list[str]:
    """Partition keys of collected commits that exist and name no remaining commit."""
    out = []
    for key in sorted({partition_key(c) for c in removed}):
        if not instance.has_dynamic_partition(commits_partitions.name, key):
            continue
        try:
            store.find_commit(key)
        except NotFound:
            out.append(key)
        except AmbiguousRevision:
            continue
    return out


@dg.op(name="collect_garbage", out=dg.Out(dg.Nothing))
def collect_garbage_op(context: dg.OpExecutionContext, config: GcConfig, store: StoreResource) -> dg.Output:
    """Mark, sweep and compact; report what was removed and kept."""
    s = store.open()
    report = _call(lambda: s.gc(dry_run=config.dry_run, grace=timedelta(hours=config.grace_hours),
                                reflog_retention=timedelta(days=config.retention_days), progress=context.log.info))
    verb = "would remove" if report.dry_run else "removed"
    context.log.info(f"{verb} {report.commits_removed} commits, {report.manifests_removed} manifests, "
                     f"{report.packs_removed} packs ({report.bytes_freed} bytes); compacted {report.packs_compacted}")
    deleted: list[str] = []
    if not report.dry_run:
        deleted = _stale_partitions(s, context.instance, report.removed_commits)
        for key in deleted:
            context.instance.delete_dynamic_partition(commits_partitions.name, key)
        if deleted:
            context.log.info(f"deleted {len(deleted)} commits partitions of collected commits")
    return dg.Output(None, metadata={
        "dry_run": report.dry_run, "bytes_freed": dg.MetadataValue.int(report.bytes_freed),
        "commits_removed": report.commits_removed, "objects_removed": report.manifests_removed
        + report.packs_removed + report.other_removed, "packs_compacted": report.packs_compacted,
        "datasets_purged": ", ".join(report.datasets_purged) or "none",
        "partitions_deleted": len(deleted), **_gc_tables(report)})


@dg.job(name="garbage_collection", tags={"dsa/kind": "maintenance"})
def garbage_collection() -> None:
    """Remove unreachable commits, manifests and row packs; compact mostly-dead packs. Safe while uploads run."""
    collect_garbage_op()


class FsckConfig(dg.Config):
    """How deep the integrity check goes."""

    deep: bool = Field(default=False, description="Also recompute every stored row's hash and every table's "
                                                  "content id (reads all rows).")


def _problems_table(report: FsckReport) -> dg.MetadataValue:
    cols = ("kind", "dataset", "commit", "table", "object_id", "message")
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: str(getattr(p, c) or "") for c in cols}) for p in report.problems[:200]],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in cols]))


@dg.op(name="check_store", out=dg.Out(dg.Nothing))
def check_store_op(context: dg.OpExecutionContext, config: FsckConfig, store: StoreResource) -> dg.Output:
    """Check the store; fail with the list of problems if anything is broken."""
    report = _call(lambda: store.open().fsck(deep=config.deep))
    counts = {k: dg.MetadataValue.int(v) for k, v in sorted(report.counts.items())}
    if not report.ok:
        lines = "\n".join(f"- {p.kind}: {p.message}" for p in report.problems[:20])
        more = f"\n… and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        raise dg.Failure(description=f"fsck found {len(report.problems)} problem(s):\n{lines}{more}",
                         metadata={"problems": _problems_table(report), **counts}, allow_retries=False)
    context.log.info(f"store ok: {report.counts}")
    return dg.Output(None, metadata={"ok": True, "deep": config.deep, **counts})


@dg.job(name="fsck", tags={"dsa/kind": "maintenance"})
def fsck() -> None:
    """Check every ref, commit, manifest, range and object of the store; fails, listing the problems, if any."""
    check_store_op()


class DeleteDatasetConfig(dg.Config):
    """A dataset to soft-delete."""

    dataset: str = Field(description="The dataset.")
    reason: str = Field(description="Why (recorded in the audit trail).")
    actor: str = Field(default="dagster", description=ACTOR_DESCRIPTION)


@dg.op(name="soft_delete_dataset", out=dg.Out(dg.Nothing))
def delete_dataset_op(context: dg.OpExecutionContext, config: DeleteDatasetConfig, store: StoreResource) -> dg.Output:
    """Soft-delete the dataset (restorable until purged by GC after the retention)."""
    _call(lambda: store.open().delete_dataset(config.dataset, actor=config.actor, reason=config.reason))
    context.log.info(f"deleted dataset {config.dataset}: {config.reason}")
    return dg.Output(None, metadata={"dataset": config.dataset, "actor": config.actor, "reason": config.reason})


@dg.job(name="delete_dataset", tags={"dsa/kind": "dataset"})
def delete_dataset() -> None:
    """Soft-delete a dataset: hidden, reads and writes refused, restorable until the retention ends."""
    delete_dataset_op()


class RestoreDatasetConfig(dg.Config):
    """A soft-deleted dataset to bring back."""

    dataset: str = Field(description="The dataset.")
    actor: str = Field(default="dagster", description=ACTOR_DESCRIPTION)


@dg.op(name="undelete_dataset", out=dg.Out(dg.Nothing))
def restore_dataset_op(context: dg.OpExecutionContext, config: RestoreDatasetConfig,
                       store: StoreResource) -> dg.Output:
    """Undo the dataset's soft delete."""
    ds = _call(lambda: store.open().restore_dataset(config.dataset, actor=config.actor))
    context.log.info(f"restored dataset {ds.name}")
    return dg.Output(None, metadata={"dataset": ds.name, "actor": config.actor})


@dg.job(name="restore_dataset", tags={"dsa/kind": "dataset"})
def restore_dataset() -> None:
    """Bring back a soft-deleted dataset (until it is purged)."""
    restore_dataset_op()


weekly_garbage_collection = dg.ScheduleDefinition(
    name="weekly_garbage_collection", job=garbage_collection, cron_schedule="0 3 * * 0",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Garbage collection every Sunday at 03:00 (grace 1 h, reflog retention 30 days).")

daily_fsck = dg.ScheduleDefinition(
    name="daily_fsck", job=fsck, cron_schedule="0 4 * * *", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Integrity check every day at 04:00; a broken store fails the run.")

defs = dg.Definitions(jobs=[garbage_collection, fsck, delete_dataset, restore_dataset],
                      schedules=[weekly_garbage_collection, daily_fsck])
