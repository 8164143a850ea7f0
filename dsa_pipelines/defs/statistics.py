"""Per-commit statistics, statistical drift and profiling reports, as ``commits`` partitions.

* ``commit_statistics`` — statistics of every table of a commit (computed once, cached in
  the catalog), shown as one table per commit table; its WARN check
  ``statistical_drift`` compares the commit with its first parent.
* ``commit_profile`` — a ydata-profiling HTML report per table (sampled above 100k rows),
  linked from the metadata (a path, and a URL under ``$DSA_REPORTS_URL`` that the reports
  server of ``make dev`` answers).
* Job ``commit_head_assets`` (:data:`HEAD_ASSETS_JOB`) materialises both for one commit
  partition; the "branch moved" sensor requests it for every new branch head.
* Schedule ``statistics_refresh`` (stopped by default) fills in statistics for commits
  that lack them, at most :data:`REFRESH_BATCH` per tick.

Any commit can be (re)computed from the UI by materialising its partition.
"""

import warnings
from pathlib import Path

import dagster as dg
from pydantic import Field

from dsa_pipelines.defs.commit_metadata import COMMIT
from dsa_pipelines.defs.failures import store_errors
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.quality.distribution_drift import stat_diff
from dsa_pipelines.quality.profiling import DEFAULT_SAMPLE_ROWS, ProfileSummary, profile_commit
from dsa_pipelines.quality.statistics import TableStatistics, commits_without_statistics, store_statistics
from dsa_pipelines.reports_server import report_url
from dsa_pipelines.storage import Commit, Store

HEAD_ASSETS_JOB = "commit_head_assets"
REFRESH_JOB = "commit_statistics_refresh"
REFRESH_BATCH = 20
GROUP = "commits"
_IN_FLIGHT = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.STARTED]


def _commit(store: Store, key: str) -> Commit:
    with store_errors(f"partition {key!r}"):
        return store.find_commit(key)


def _value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return round(value, 6)
    return str(value)


STATS_COLUMNS = [
    dg.TableColumn("column"), dg.TableColumn("kind"), dg.TableColumn("type"), dg.TableColumn("nulls", "int"),
    dg.TableColumn("null_rate", "float"), dg.TableColumn("distinct", "int"), dg.TableColumn("min"),
    dg.TableColumn("max"), dg.TableColumn("mean", "float"), dg.TableColumn("stddev", "float"),
    dg.TableColumn("p1", "float"), dg.TableColumn("p25", "float"), dg.TableColumn("p50", "float"),
    dg.TableColumn("p75", "float"), dg.TableColumn("p99", "float"), dg.TableColumn("zeros", "int"),
    dg.TableColumn("lengths", description="min / mean / max text length"),
    dg.TableColumn("top values", description="most frequent values (count)"),
    dg.TableColumn("true / false"),
]


def statistics_table(stats: TableStatistics) -> dg.TableMetadataValue:
    """One table's statistics as a Dagster table (one record per column)."""
    records = []
    for c in stats.columns:
        q = c.quantiles or {}
        records.append(dg.TableRecord({
            "column": c.name, "kind": c.kind, "type": c.logical, "nulls": c.nulls, "null_rate": _value(c.null_rate),
            "distinct": c.distinct, "min": _value(c.min), "max": _value(c.max), "mean": _value(c.mean),
            "stddev": _value(c.stddev), **{k: _value(q.get(k)) for k in ("p1", "p25", "p50", "p75", "p99")},
            "zeros": c.zeros,
            "lengths": (f"{c.min_length} / {c.mean_length:.1f} / {c.max_length}"
                        if c.mean_length is not None else None),
            "top values": ", ".join(f"{v} ({n:,})" for v, n in (c.top_values or ())[:5]) or None,
            "true / false": f"{c.true_count:,} / {c.false_count:,}" if c.true_count is not None else None,
        }))
    return dg.MetadataValue.table(records, dg.TableSchema(STATS_COLUMNS))


def statistics_metadata(commit: Commit, stats: dict[str, TableStatistics]) -> dict:
    """Metadata of a ``commit_statistics`` partition: an overview plus one table per commit table."""
    lines = ["| table | rows | columns | Arrow bytes | nulls | computed |", "|---|---:|---:|---:|---:|---|"]
    for name, s in stats.items():
        nulls = sum(c.nulls for c in s.columns)
        lines.append(f"| {name} | {s.row_count:,} | {len(s.columns):,} | {s.bytes:,} | {nulls:,} | {s.computed_at} |")
    metadata: dict = {
        "dataset": commit.dataset, "commit": commit.id, "rows": sum(s.row_count for s in stats.values()),
        "tables": dg.MetadataValue.md("\n".join(lines)),
    }
    for name, s in stats.items():
        metadata[f"statistics: {name}"] = statistics_table(s)
    return metadata


@dg.asset(partitions_def=commits_partitions, group_name=GROUP, deps=[COMMIT], kinds={"duckdb"})
def commit_statistics(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
    """Statistics of every table of the commit: rows, size and, per column, nulls, distinct
    values, min/max/mean/stddev/quantiles (numbers), range (dates and times), lengths and top
    values (text), true/false counts. Computed once per commit in DuckDB and kept in the
    catalog; re-materialising reads them back."""
    opened = store.open()
    commit = _commit(opened, context.partition_key)
    stats = store_statistics(opened, commit.dataset, commit.id)
    return dg.MaterializeResult(metadata=statistics_metadata(commit, stats))


# Partitioned asset checks are a preview feature of Dagster 1.13; they show each commit's
# drift on its own partition, so we use them and silence the notice (as audits.py does).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)

    @dg.asset_check(asset=commit_statistics, name="statistical_drift", partitions_def=commits_partitions,
                    description="Distribution drift of every column against the commit's first parent "
                                "(PSI for numbers and times, total-variation distance for text and booleans, "
                                "null-rate change). Warns at the dataset's alert level (default: significant).")
    def statistical_drift(context: dg.AssetCheckExecutionContext, store: StoreResource) -> dg.AssetCheckResult:
        """Warn when a column's distribution moved beyond the drift thresholds."""
        opened = store.open()
        commit = _commit(opened, context.partition_key)
        report = stat_diff(opened, commit.dataset, commit.id)
        alerts = report.alerts()
        listed = ", ".join(f"{t}.{c.name} ({c.verdict})" for t, c in alerts)
        return dg.AssetCheckResult(
            passed=not alerts, severity=dg.AssetCheckSeverity.WARN,
            description=(f"{len(alerts)} column(s) drifted: {listed}" if alerts else
                         f"No column reached {report.thresholds.alert_level} drift."),
            metadata={"verdict": report.verdict, "base": report.base_id or "none",
                      "alerts": len(alerts), "report": dg.MetadataValue.md(report.to_markdown())})


class ProfileConfig(dg.Config):
    """How to profile a commit."""

    sample_rows: int = Field(default=DEFAULT_SAMPLE_ROWS, gt=0,
                             description="Profile at most this many rows (a deterministic sample above).")
    minimal: bool = Field(default=True, description="ydata-profiling's minimal (fast) configuration.")
    force: bool = Field(default=False, description="Make new reports even if stored ones fit.")


def profile_metadata(commit: Commit, profiles: dict[str, ProfileSummary], reports_root: Path) -> dict:
    """Metadata of a ``commit_profile`` partition: a summary table and a link per report.

    Args:
        commit: The profiled commit.
        profiles: Its reports, per table.
        reports_root: The store's reports folder; links point at it as served under ``$DSA_REPORTS_URL``.
    """
    records = [dg.TableRecord({
        "table": name, "rows": p.row_count, "profiled rows": p.sample_rows, "columns": p.n_vars,
        "missing cells %": p.missing_cells_pct, "duplicate rows %": p.duplicate_rows_pct, "alerts": len(p.alerts),
    }) for name, p in profiles.items()]
    schema = dg.TableSchema([dg.TableColumn("table"), dg.TableColumn("rows", "int"),
                             dg.TableColumn("profiled rows", "int"), dg.TableColumn("columns", "int"),
                             dg.TableColumn("missing cells %", "float"), dg.TableColumn("duplicate rows %", "float"),
                             dg.TableColumn("alerts", "int")])
    metadata: dict = {"dataset": commit.dataset, "commit": commit.id,
                      "profiles": dg.MetadataValue.table(records, schema)}
    for name, p in profiles.items():
        metadata[f"report: {name}"] = dg.MetadataValue.path(p.path)
        metadata[f"report url: {name}"] = dg.MetadataValue.url(report_url(reports_root, p.path))
        if p.alerts:
            metadata[f"alerts: {name}"] = dg.MetadataValue.md("\n".join(f"- {a}" for a in p.alerts))
    return metadata


@dg.asset(partitions_def=commits_partitions, group_name=GROUP, deps=[COMMIT], kinds={"html"})
def commit_profile(context: dg.AssetExecutionContext, config: ProfileConfig,
                   store: StoreResource) -> dg.MaterializeResult:
    """A ydata-profiling HTML report of every table of the commit (a deterministic sample of
    at most 100,000 rows by default; the report says so), stored in the store and linked
    here, with a summary: columns, missing cells, duplicate rows, alerts."""
    opened = store.open()
    commit = _commit(opened, context.partition_key)
    profiles = profile_commit(opened, commit.dataset, commit.id, sample_rows=config.sample_rows,
                              minimal=config.minimal, force=config.force)
    return dg.MaterializeResult(metadata=profile_metadata(commit, profiles, opened.reports_root()))


head_assets_job = dg.define_asset_job(
    HEAD_ASSETS_JOB, selection=dg.AssetSelection.assets(commit_statistics, commit_profile),
    description="Statistics (with the drift check) and the profiling report of one commit partition — "
                "requested for every new branch head.")

refresh_job = dg.define_asset_job(
    REFRESH_JOB, selection=dg.AssetSelection.assets(commit_statistics),
    description="Statistics (with the drift check) of one commit partition.")


@dg.schedule(job=refresh_job, cron_schedule="0 * * * *", default_status=dg.DefaultScheduleStatus.STOPPED)
def statistics_refresh(context: dg.ScheduleEvaluationContext, store: StoreResource):  # noqa: ANN201
    """Hourly (stopped by default): request statistics for commits that have none yet, newest
    first, at most 20 per tick; commits with a run still queued or running are left alone."""
    missing = commits_without_statistics(store.open(), limit=REFRESH_BATCH * 2)
    keys = list(dict.fromkeys(partition_key(cid) for _, cid in missing))
    busy = {r.dagster_run.tags.get("dagster/partition") for r in context.instance.get_run_records(
        dg.RunsFilter(job_name=REFRESH_JOB, statuses=_IN_FLIGHT))}
    keys = [k for k in keys if k not in busy][:REFRESH_BATCH]
    if not keys:
        return dg.SkipReason("every commit has statistics (or a run computing them)")
    known = set(context.instance.get_dynamic_partitions(commits_partitions.name))
    new = [k for k in keys if k not in known]
    if new:
        context.instance.add_dynamic_partitions(commits_partitions.name, new)
    return [dg.RunRequest(partition_key=k, run_key=f"statistics:{k}", tags={"dsa/reason": "statistics refresh"})
            for k in keys]


defs = dg.Definitions(
    assets=[commit_statistics, commit_profile],
    asset_checks=[statistical_drift],
    jobs=[head_assets_job, refresh_job],
    schedules=[statistics_refresh],
)
