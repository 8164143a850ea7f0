"""The landing folder: drop a file into ``data/landing/<dataset>/`` and it is ingested.

Two sensors share the folder (both on by default, every ``$DSA_LANDING_INTERVAL_SECONDS``,
default 3 s; the folder is ``$DSA_LANDING_DIR``, default ``data/landing``):

- ``landing_sensor`` takes files whose size and mtime did not change since its previous
  tick, moves each to ``.processing/`` and requests one ``ingest`` run for it;
- ``landing_outcome_sensor`` moves the file of every finished run to ``.archive/``
  (success) or ``.quarantine/`` with ``<file>.error.txt`` (failure, cancellation).

The convention is in :mod:`dsa_pipelines.landing.convention` and ``docs/landing.md``.
Sensors only read the filesystem and the Dagster instance; they never open the store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import dagster as dg
import pydantic

from dsa_pipelines import settings
from dsa_pipelines.defs.ingest import FileDigestConfig, IngestConfig, ingest_job, ingest_run_config, ingest_run_tags
from dsa_pipelines.defs.run_failures import run_failure_text
from dsa_pipelines.landing.convention import (
    CONVENTION,
    LandingTarget,
    is_sidecar,
    landing_target,
    sidecar_of,
)
from dsa_pipelines.landing.folder import (
    PROCESSING,
    Claim,
    claim,
    claim_id,
    claims,
    file_sha256,
    quarantine,
    scan,
    settle,
    stable_files,
)
from dsa_pipelines.storage import DsaError

LANDING_DIR_ENV = "DSA_LANDING_DIR"
MAX_CLAIMS_PER_TICK = 50
LANDING_AUTHOR = "landing"

TAG_DATASET = "dsa/dataset"
TAG_FILE = "dsa/landing_file"
TAG_CLAIM = "dsa/landing_claim"
RUN_KEY_TAG = "dagster/run_key"

_FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def landing_root() -> Path:
    """The landing folder (``$DSA_LANDING_DIR`` or ``data/landing``), absolute."""
    return settings.current().landing_dir.resolve()


def interval_seconds() -> int:
    """Seconds between ticks of the landing sensors (``$DSA_LANDING_INTERVAL_SECONDS``)."""
    return settings.current().landing_interval_seconds


def landing_config(target: LandingTarget, path: Path, digest: dict | None = None) -> IngestConfig:
    """The ``ingest`` job's config for one landed file (sidecar options override the defaults).

    Args:
        digest: ``{"sha256", "size", "mtime_ns"}`` of the file as the sensor hashed it (the run
            then does not read the file again just to hash it).

    Raises:
        pydantic.ValidationError: an option the ingest job cannot take.
    """
    options = dict(target.options)
    digests = [FileDigestConfig(path=str(path), **digest)] if digest else []
    return IngestConfig(
        dataset=target.dataset,
        paths=[str(path)],
        branch=target.branch,
        message=options.pop("message", f"landing: {target.relative}"),
        author=options.pop("author", LANDING_AUTHOR),
        file_digests=digests,
        **options,
    )


def _run_request(c: Claim) -> dg.RunRequest:
    target = LandingTarget(c.request["relative"], c.request["dataset"], c.request["branch"], c.request["options"])
    return dg.RunRequest(
        run_key=c.request["run_key"],
        run_config=ingest_run_config(landing_config(target, c.path, c.request.get("digest"))),
        tags={**ingest_run_tags(target.dataset, target.branch), TAG_DATASET: target.dataset,
              TAG_FILE: target.relative, TAG_CLAIM: c.id},
    )


def _runs_with(instance: dg.DagsterInstance, tag: str, value: str) -> list[dg.RunRecord]:
    return list(instance.get_run_records(dg.RunsFilter(tags={tag: value}), limit=1))


def _free_run_key(instance: dg.DagsterInstance, root: Path, base: str) -> str:
    """``base``, or ``base#2``, ``#3``… when the same content was dropped at the same place before.

    Dagster never runs a run key twice, yet dropping a file again is a deliberate request
    (e.g. to restore it after another upload); the ingest run then reports "no changes"
    if the branch already holds exactly this content.
    """
    key, n = base, 1
    while _runs_with(instance, RUN_KEY_TAG, key) or (root / PROCESSING / claim_id(key)).exists():
        n += 1
        key = f"{base}#{n}"
    return key


def _sidecar_text(root: Path, relative: PurePosixPath) -> str | None:
    path = root / sidecar_of(relative)
    return path.read_text(encoding="utf-8") if path.exists() else None


def _take(context: dg.SensorEvaluationContext, root: Path, relative: PurePosixPath) -> dg.RunRequest | str:
    """Claim a stable file and make its run request, or quarantine it (returns a note)."""
    try:
        target = landing_target(relative, _sidecar_text(root, relative))
        landing_config(target, root / relative)
    except (DsaError, UnicodeDecodeError, pydantic.ValidationError) as e:
        reason = str(e) if isinstance(e, DsaError) else f"{relative}: {e}\n{CONVENTION}"
        return f"quarantined {relative} -> {quarantine(root, relative, reason).relative_to(root)}"
    stat = (root / relative).stat()  # before hashing: a file changed while hashed then fails the match
    sha = file_sha256(root / relative)
    base = f"{target.dataset}/{target.branch}/{relative.name}/{sha}"
    run_key = _free_run_key(context.instance, root, base)
    c = claim(root, relative, {"run_key": run_key, "dataset": target.dataset, "branch": target.branch,
                               "options": target.options,
                               "digest": {"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}})
    context.log.info(f"{relative}: requested ingest onto {target.dataset}@{target.branch} (run key {run_key})")
    return _run_request(c)


@dg.sensor(
    job_name=ingest_job.name,
    minimum_interval_seconds=interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Ingests files dropped into the landing folder (``data/landing/<dataset>/[@<branch>/]<file>``).

    A file is taken once its size and mtime are unchanged since the previous tick, moved
    to ``.processing/`` and ingested by one ``ingest`` run (run key
    ``<dataset>/<branch>/<file name>/<sha256 of content>``). Files that break the convention
    go straight to ``.quarantine/`` with an ``.error.txt``. See docs/landing.md.
    """
    root = landing_root()
    previous = json.loads(context.cursor)["files"] if context.cursor else {}
    current = scan(root)
    stable = set(stable_files(previous, current))
    # Claimed files whose run does not exist (e.g. the daemon stopped before launching it).
    requests = [_run_request(c) for c in claims(root) if not _runs_with(context.instance, TAG_CLAIM, c.id)]
    notes: list[str] = []
    for rel in sorted(stable):
        relative = PurePosixPath(rel)
        sidecar = sidecar_of(relative).as_posix()
        if is_sidecar(relative) or (sidecar in current and sidecar not in stable):
            continue  # options wait for their file; a file waits for its options to settle
        if len(requests) >= MAX_CLAIMS_PER_TICK:
            break  # the rest stay stable in the cursor and are taken next tick
        try:
            taken = _take(context, root, relative)
        except FileNotFoundError:
            context.log.info(f"{rel} disappeared before it could be taken")
            continue
        if isinstance(taken, str):
            notes.append(taken)
            context.log.warning(taken)
        else:
            requests.append(taken)
        current.pop(rel, None)
        current.pop(sidecar, None)
    cursor = json.dumps({"files": current}, sort_keys=True)
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    waiting = len(set(current) - stable)
    reason = "; ".join(notes) or (f"{waiting} file(s) still changing" if waiting else "no new stable files")
    return dg.SensorResult(skip_reason=reason, cursor=cursor)


def failure_report(instance: dg.DagsterInstance, record: dg.RunRecord, c: Claim) -> str:
    """The ``.error.txt`` text for a claim whose run failed or was canceled."""
    run = record.dagster_run
    lines = run_failure_text(instance, run.run_id) if run.status == dg.DagsterRunStatus.FAILURE else []
    if run.status == dg.DagsterRunStatus.CANCELED:
        lines = ["the run was canceled"]
    prefix = f"{c.folder}{os.sep}"
    errors = "\n".join(f"  {line.replace(prefix, '')}" for line in lines) or "  (no error message recorded)"
    return (
        f"file:    {c.relative}\n"
        f"dataset: {c.request['dataset']}\nbranch:  {c.request['branch']}\n"
        f"run:     {run.run_id} ({run.status.value})\n"
        f"error:\n{errors}\n\n"
        f"Nothing was published. Fix the file and drop it into {c.relative.parent}/ again.\n"
    )


@dg.sensor(
    minimum_interval_seconds=interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_outcome_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Files the landing sensor handed to ``ingest`` runs that have finished: archives the
    file of a successful run, quarantines the file of a failed or canceled run with an
    ``.error.txt`` naming the problem (file, row, column). Works for runs that failed
    before any step ran, and for runs that finished while this sensor was stopped.
    """
    root = landing_root()
    done: list[str] = []
    for c in claims(root):
        records = _runs_with(context.instance, TAG_CLAIM, c.id)
        if not records or records[0].dagster_run.status not in _FINISHED:
            continue
        record = records[0]
        ok = record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        dest = settle(root, c, None if ok else failure_report(context.instance, record, c))
        done.append(f"{c.relative} -> {dest.relative_to(root)}")
        context.log.info(f"{c.relative}: run {record.dagster_run.run_id} {record.dagster_run.status.value}; "
                         f"moved to {dest.relative_to(root)}")
    return dg.SkipReason("; ".join(done) if done else "no finished landing runs")


defs = dg.Definitions(sensors=[landing_sensor, landing_outcome_sensor])
