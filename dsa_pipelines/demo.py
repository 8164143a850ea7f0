"""``make run``: ingest the sample files through Dagster and print what the store holds.

Runs the ``ingest`` job (write-audit-publish) on the persistent Dagster instance
(``$DAGSTER_HOME``), as runs of the code location ``make dev`` serves, so the runs (in the
``ingest`` job's Runs tab), the datasets, their ``commit`` partitions and checks show up in
``make dev`` afterwards. The uploads, in order::

    customers    ← customers.csv
    sales        ← sales.xlsx            (sheets orders + products: one commit, two tables)
    transactions ← transactions.parquet
    customers    ← customers_v2.csv      (rows changed, added and removed)

Running it again changes nothing: an upload whose version is already in the branch's
history is reported as "no changes"; the latest upload of each dataset is run through
the job again, which finds it equal to the branch head and says "no changes".

Usage: ``python -m dsa_pipelines.demo`` (``DAGSTER_HOME``, ``DSA_STORE_ROOT`` from the
environment; ``make run`` sets both).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from dsa_pipelines import settings
from dsa_pipelines.defs import ingest
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Commit, Store

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
LOCATION = "dsa_pipelines.definitions"  # the code location of workspace.yaml (named after its module)
REPOSITORY = "__repository__"  # the repository of a @dg.definitions code location


@dataclass(frozen=True)
class Upload:
    """One step of the demo: files into a dataset, with a commit message."""

    dataset: str
    files: tuple[str, ...]
    message: str
    description: str
    table: str | None = None


UPLOADS = (
    Upload("customers", ("customers.csv",), "demo: customers, first export", "Customer master data (sample).",
           table="customers"),
    Upload("sales", ("sales.xlsx",), "demo: sales workbook (orders + products)", "Orders and products (sample)."),
    Upload("transactions", ("transactions.parquet",), "demo: bank transactions, H1 2024",
           "Bank transactions (sample)."),
    Upload("customers", ("customers_v2.csv",), "demo: customers, second export (5 changed, 4 removed, 8 added)",
           "Customer master data (sample).", table="customers"),
)


@dataclass(frozen=True)
class Outcome:
    """What one upload did."""

    upload: Upload
    status: str
    commit: str | None = None
    detail: str = ""


def _applied(store: Store, upload: Upload) -> int | None:
    """The version number of this upload if it is already in the branch history."""
    if upload.dataset not in {d.name for d in store.list_datasets()}:
        return None
    return next((e.version for e in store.log(upload.dataset) if e.commit.message == upload.message), None)


def job_origin(job_name: str) -> RemoteJobOrigin:
    """Where the UI finds a job: the code location ``workspace.yaml`` loads (module
    ``dsa_pipelines.definitions`` in the project folder). A run created with this origin is
    listed on the job's page (its Runs tab filters by the location's label) and can be
    re-executed from the UI."""
    location = ManagedGrpcPythonEnvCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=LOCATION, working_directory=str(REPO)),
        location_name=LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY), job_name)


def run_upload(job: dg.JobDefinition, instance: dg.DagsterInstance, samples: Path, upload: Upload) -> Outcome:
    """Run the ingest job for one upload on the instance and read back what it did from the run's tags.

    The run is created in the instance with the code location's origin, then executed here,
    in this process (the ingest job's executor is in-process): no daemon or code server is
    needed, and the run shows in the UI like a launched one.
    """
    config = ingest.IngestConfig(
        dataset=upload.dataset, paths=[str(samples / f) for f in upload.files], message=upload.message,
        table=upload.table, author="demo", dataset_description=upload.description)
    run_config = ingest.ingest_run_config(config)
    run_config = dg.RunConfig(ops=run_config.ops, loggers={"console": {"config": {"log_level": "WARNING"}}})
    run = instance.create_run_for_job(job, run_config=run_config.to_config_dict(),
                                      tags={**ingest.ingest_run_tags(upload.dataset), "dsa/launched_by": "make run"},
                                      remote_job_origin=job_origin(job.name))
    result = execute_run(InMemoryJob(job), run, instance)
    tags = instance.get_run_by_id(result.run_id).tags
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        detail = failure.step_failure_data.user_failure_data.description if (
            failure and failure.step_failure_data.user_failure_data) else "see the run in the Dagster UI"
        return Outcome(upload, "failed", tags.get(ingest.COMMIT_TAG), f"{detail} (run {result.run_id[:8]})")
    return Outcome(upload, tags.get(ingest.STATUS_TAG, "?"), tags.get(ingest.COMMIT_TAG),
                   f"run {result.run_id[:8]}")


def _rows(store: Store, commit: Commit) -> str:
    parent = store.get_commit(commit.dataset, commit.parents[0]).tables if commit.parents else {}
    parts = []
    for name, info in commit.tables.items():
        if name in parent and parent[name].content_id == info.content_id:
            continue
        new, reused = info.stats.get("new_rows", 0), info.stats.get("reused_rows", 0)
        parts.append(f"{name}: {info.row_count:,} rows ({new:,} new, {reused:,} reused)")
    return "; ".join(parts) or "no tables changed"


def summary(store: Store) -> list[str]:
    """Readable lines: every dataset, its branches, its log with versions and rows new vs reused."""
    lines = []
    for ds in store.list_datasets():
        branches = ", ".join(f"{b.name} → {b.commit_id[:12]}" for b in store.branches(ds.name))
        lines += [f"{ds.name} — {ds.description or 'no description'} (drift policy: {ds.drift_policy})",
                  f"  branches: {branches}"]
        for entry in store.log(ds.name):
            c = entry.commit
            lines.append(f"  v{entry.version:<3} {c.short_id}  {c.created_at[:19]}  {c.message}")
            if c.tables:
                lines.append(f"         {_rows(store, c)}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code (non-zero if an upload failed)."""
    del argv
    config = settings.current()
    if config.dagster_home is None:
        print("DAGSTER_HOME is not set: run `make run`, or export DAGSTER_HOME=<folder with dagster.yaml>",
              file=sys.stderr)
        return 2
    resource = StoreResource(root=str(config.store_root), catalog_url=config.catalog_url or "")
    job = dg.Definitions.merge(ingest.defs, dg.Definitions(resources={"store": resource})).resolve_job_def("ingest")
    store = resource.open()
    last = {u.dataset: u for u in UPLOADS}
    outcomes: list[Outcome] = []
    with dg.DagsterInstance.get() as instance:
        print(f"Dagster instance: {config.dagster_home}\nStore: {store.root}\n")
        for upload in UPLOADS:
            version = _applied(store, upload)
            if version is not None and last[upload.dataset] is not upload:
                outcome = Outcome(upload, "no_changes", detail=f"already v{version} of {upload.dataset}/main")
            else:
                outcome = run_upload(job, instance, SAMPLES, upload)
            outcomes.append(outcome)
            label = {"published": "published", "no_changes": "no changes", "failed": "FAILED"}.get(
                outcome.status, outcome.status)
            commit = f" {outcome.commit}" if outcome.commit and outcome.status == "published" else ""
            print(f"  {upload.dataset:<13} ← {', '.join(upload.files):<22} {label}{commit}  ({outcome.detail})")
    if all(o.status == "no_changes" for o in outcomes):
        print("\nNo changes: every sample upload is already in the store (this demo ran before).")
    print("\n" + "\n".join(summary(store)))
    store.close()
    print("\nSee the runs, the `commit` partitions and their checks with `make dev` (http://127.0.0.1:3000).")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
