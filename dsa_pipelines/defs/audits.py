"""The write-audit-publish audits as asset checks on ``commit`` partitions.

Two checks, both blocking (an ERROR result keeps the branch where it was):

- ``commit:schema_drift`` — each table's schema against the same table at the branch
  head the commit was built on (its first parent); the dataset's drift policy decides:
  ``reject`` → ERROR, ``warn`` → WARN (publish proceeds), ``allow`` → passes with the
  report.
- ``commit:expectations`` — the dataset's Great Expectations suite
  (``$DSA_EXPECTATIONS_DIR/<dataset>.json``, default ``data/expectations``); any failed
  expectation (or an unreadable suite) → ERROR. No suite → passes with "no suite".

The ``ingest`` job reports these checks for the partition it stages, inside its own run,
before its publish step. Executing a check on its own (from the asset page) re-audits
an existing commit and reports the result; it never moves a branch.
"""


import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

from dsa_pipelines.defs.commit_metadata import COMMIT
from dsa_pipelines.defs.failures import store_errors
from dsa_pipelines.defs.partitions import commits_partitions
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.quality.expectations import find_suite, validate_commit
from dsa_pipelines.storage import DsaError, Store
from dsa_pipelines.storage.schema_drift import FAIL, WARN

DRIFT_CHECK = "schema_drift"
EXPECTATIONS_CHECK = "expectations"


@dataclass(frozen=True)
class Audit:
    """One audit's outcome, ready to become an asset check evaluation or result."""

    check_name: str
    passed: bool
    severity: dg.AssetCheckSeverity
    description: str
    metadata: dict = field(default_factory=dict, hash=False)

    @property
    def blocks(self) -> bool:
        """Whether this outcome keeps the branch from moving."""
        return not self.passed and self.severity == dg.AssetCheckSeverity.ERROR

    def evaluation(self, partition: str, instance: dg.DagsterInstance | None = None) -> dg.AssetCheckEvaluation:
        """As an event for a partition of ``commit`` (reported by a job step).

        With the instance, the evaluation names the partition's latest ``commit``
        materialization as its target, so the UI counts the check as current for that
        partition (a check result without a target shows as "missing" on the Partitions tab).
        """
        return dg.AssetCheckEvaluation(
            asset_key=COMMIT, check_name=self.check_name, passed=self.passed, severity=self.severity,
            description=self.description, metadata=self.metadata, blocking=True, partition=partition,
            target_materialization_data=latest_materialization(instance, partition) if instance else None)

    def result(self) -> dg.AssetCheckResult:
        """As the result of an executed asset check."""
        return dg.AssetCheckResult(passed=self.passed, severity=self.severity, description=self.description,
                                   metadata=self.metadata)


def latest_materialization(instance: dg.DagsterInstance,
                           partition: str) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The latest ``commit`` materialization of a partition, as an asset check's target."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=COMMIT, asset_partitions=[partition]), limit=1).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(storage_id=records[0].storage_id,
                                                         run_id=records[0].run_id, timestamp=records[0].timestamp)


def drift_audit(store: Store, dataset: str, commit_id: str) -> Audit:
    """Compare the commit's schemas with its first parent's under the dataset's drift policy."""
    policy = store.get_dataset(dataset).drift_policy
    report = store.schema_drift(dataset, commit_id)
    verdict = report.verdict(policy)
    metadata = {
        "policy": policy,
        "against": report.base[:12] if report.base else "none",
        "changes": len(report.changes) if report.drifted else 0,
        "drift report": dg.MetadataValue.md(report.markdown()),
    }
    if verdict == FAIL:
        return Audit(DRIFT_CHECK, False, dg.AssetCheckSeverity.ERROR,
                     f"Schema drift rejected by policy 'reject' ({len(report.changes)} change(s)).", metadata)
    if verdict == WARN:
        return Audit(DRIFT_CHECK, False, dg.AssetCheckSeverity.WARN,
                     f"Schema drift ({len(report.changes)} change(s)); policy 'warn' lets it publish.", metadata)
    what = "schema drift allowed by policy 'allow'" if report.drifted else "no schema drift"
    return Audit(DRIFT_CHECK, True, dg.AssetCheckSeverity.ERROR, what.capitalize() + ".", metadata)


def expectations_audit(store: Store, dataset: str, commit_id: str) -> Audit:
    """Run the dataset's expectation suite over the commit's tables."""
    try:
        suite = find_suite(dataset)
        validation = validate_commit(store, dataset, commit_id, suite)
    except DsaError as e:
        return Audit(EXPECTATIONS_CHECK, False, dg.AssetCheckSeverity.ERROR, f"Suite unusable: {e}",
                     {"error": str(e)})
    if suite is None:
        return Audit(EXPECTATIONS_CHECK, True, dg.AssetCheckSeverity.ERROR, "No suite for this dataset.",
                     {"suite": "no suite", "summary": dg.MetadataValue.md(validation.markdown())})
    failures = validation.failures
    metadata = {
        "suite": str(suite.path),
        "evaluated": validation.evaluated,
        "failed": len(failures),
        "failed expectations": ", ".join(f"{t}.{o.column or '*'}:{o.type}" for t, o in failures) or "none",
        "summary": dg.MetadataValue.md(validation.markdown()),
    }
    if failures:
        return Audit(EXPECTATIONS_CHECK, False, dg.AssetCheckSeverity.ERROR,
                     f"{len(failures)} of {validation.evaluated} expectation(s) failed.", metadata)
    return Audit(EXPECTATIONS_CHECK, True, dg.AssetCheckSeverity.ERROR,
                 f"All {validation.evaluated} expectation(s) held.", metadata)


def _reaudit(context: dg.AssetCheckExecutionContext, store: StoreResource,
             audit: Callable[[Store, str, str], Audit]) -> dg.AssetCheckResult:
    opened = store.open()
    with store_errors(f"partition {context.partition_key!r}"):
        commit = opened.find_commit(context.partition_key)
    return audit(opened, commit.dataset, commit.id).result()


# Partitioned asset checks are a preview feature of Dagster 1.13: they are what shows each
# commit's audit results on its own partition, so we use them and silence the notice.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)

    @dg.asset_check(asset=COMMIT, name=DRIFT_CHECK, blocking=True, partitions_def=commits_partitions,
                    description="Schema drift against the branch head the commit was built on, "
                                "judged by the dataset's drift policy (reject / warn / allow).")
    def schema_drift_check(context: dg.AssetCheckExecutionContext, store: StoreResource) -> dg.AssetCheckResult:
        """Re-audit a commit's schema drift (reports only; never moves a branch)."""
        return _reaudit(context, store, drift_audit)


    @dg.asset_check(asset=COMMIT, name=EXPECTATIONS_CHECK, blocking=True, partitions_def=commits_partitions,
                    description="The dataset's Great Expectations suite (data/expectations/DATASET.json); "
                                "a failed expectation blocks publishing.")
    def expectations_check(context: dg.AssetCheckExecutionContext, store: StoreResource) -> dg.AssetCheckResult:
        """Re-run a commit's expectation suite (reports only; never moves a branch)."""
        return _reaudit(context, store, expectations_audit)
