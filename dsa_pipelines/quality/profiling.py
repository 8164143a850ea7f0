"""Profiling reports of a commit's tables (ydata-profiling HTML), stored as objects.

The HTML report is an immutable ``reports`` object in the store; the catalog's
``commit_profiles`` table keeps a small summary (variables, rows, alerts, missing
cells, duplicate rows) and the report's object id — never ydata's multi-MB JSON.
Tables larger than the sample size are profiled on a deterministic sample: row ids
drawn without replacement by a generator seeded from the table's content id, so the
same commit always yields the same sample. Duplicate rows are counted exactly on the
whole table from the stored row keys. Runs headless and offline (ydata's usage
analytics are switched off through ``YDATA_PROFILING_NO_ANALYTICS``).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from dsa_pipelines import settings
from dsa_pipelines.storage import InvalidInput
from dsa_pipelines.storage.extension import utc_now

from .queries import connect
from .tables import commit_profiles

if TYPE_CHECKING:
    from dsa_pipelines.storage import Commit, Store

DEFAULT_SAMPLE_ROWS = 100_000
REPORT_SUFFIX = ".html"
MAX_ALERTS = 50


@dataclass(frozen=True)
class ProfileSummary:
    """The catalog's summary of one table's profile.

    Attributes:
        commit_id, dataset, table: What was profiled.
        report_id: Object id of the HTML report (kind ``reports``).
        path: Where the report file is (under the store root).
        row_count: Rows of the table.
        sample_rows: Rows profiled (= ``row_count`` unless sampled).
        sample_limit: The sample size asked for.
        minimal: Whether ydata's minimal configuration was used.
        n_vars: Columns.
        missing_cells_pct: Null cells, % of all cells (of the profiled rows).
        duplicate_rows_pct: Rows identical to an earlier row, % of all rows (whole table).
        alerts: ydata's alerts, e.g. ``[amount] 5005 (5.0%) missing values`` (at most 50).
        created_at: When the report was made (ISO UTC).
        seconds: How long profiling took.
    """

    commit_id: str
    dataset: str
    table: str
    report_id: str
    path: str
    row_count: int
    sample_rows: int
    sample_limit: int
    minimal: bool
    n_vars: int
    missing_cells_pct: float
    duplicate_rows_pct: float
    alerts: tuple[str, ...]
    created_at: str
    seconds: float

    @property
    def sampled(self) -> bool:
        """Whether the report covers a sample rather than every row."""
        return self.sample_rows < self.row_count


def sample_row_ids(row_count: int, sample_rows: int, seed: int) -> np.ndarray | None:
    """Sorted logical row ids of a deterministic sample, or None to take every row.

    Args:
        row_count: Rows of the table.
        sample_rows: Sample size (must be positive).
        seed: Generator seed (the same seed gives the same rows).
    """
    if sample_rows <= 0:
        raise InvalidInput(f"sample size must be positive, got {sample_rows}", sample_rows=sample_rows)
    if row_count <= sample_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(row_count, size=sample_rows, replace=False)).astype(np.int64)


def _frame(table: pa.Table):  # noqa: ANN202 — pandas DataFrame
    """Arrow rows as the pandas frame ydata profiles best (decimals as float, dates as datetime)."""
    cast = [pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f for f in table.schema]
    return table.cast(pa.schema(cast)).to_pandas(date_as_object=False)


def _duplicate_pct(store: Store, commit: Commit, table: str) -> float:
    """Duplicate rows of the whole table (same row key as an earlier row), in percent."""
    keys = store.read_table(commit.dataset, commit.id, table, columns=[], with_keys=True).table
    if keys.num_rows == 0:
        return 0.0
    con = connect({"k": keys})
    try:
        distinct = con.sql("SELECT count(*) FROM (SELECT DISTINCT * FROM k)").fetchall()[0][0]
    finally:
        con.close()
    return 100.0 * (keys.num_rows - distinct) / keys.num_rows


def _empty_report(title: str, columns: list[str]) -> str:
    names = "".join(f"<li>{html.escape(c)}</li>" for c in columns)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>The table has no rows; there is nothing to profile.</p>"
            f"<h2>Columns</h2><ul>{names}</ul></body></html>")


def _report(frame, title: str, description: str, minimal: bool) -> tuple[str, dict]:  # noqa: ANN001
    """(HTML, summary facts) of a ydata-profiling report of a non-empty frame."""
    settings.quiet_profiling_library()  # no network call home
    from ydata_profiling import ProfileReport  # noqa: PLC0415 — heavy import, only when profiling

    report = ProfileReport(frame, title=title, minimal=minimal, progress_bar=False,
                           dataset={"description": description})
    facts = report.get_description()
    summary = {"n_vars": int(facts.table["n_var"]), "missing_cells_pct": 100.0 * float(facts.table["p_cells_missing"]),
               "alerts": tuple(str(a) for a in facts.alerts)[:MAX_ALERTS]}
    return report.to_html(), summary


def load_profiles(store: Store, commit_id: str, tables: list[str] | None = None) -> dict[str, ProfileSummary]:
    """The stored profile summaries of a commit (only tables already profiled)."""
    query = sa.select(commit_profiles.c.table_name, commit_profiles.c.summary).where(
        commit_profiles.c.commit_id == commit_id)
    if tables is not None:
        query = query.where(commit_profiles.c.table_name.in_(tables))
    with store.catalog_read() as conn:
        rows = conn.execute(query).all()
    out = {}
    for r in rows:
        data = json.loads(r.summary)
        path = str(store.report_path(data["report_id"], REPORT_SUFFIX))  # the root may have moved
        out[r.table_name] = ProfileSummary(**{**data, "alerts": tuple(data["alerts"]), "path": path})
    return out


def profile_table(store: Store, commit: Commit, table: str, *, sample_rows: int = DEFAULT_SAMPLE_ROWS,
                  minimal: bool = True) -> ProfileSummary:
    """Profile one table of a commit and store the report and its summary (replacing an older one).

    Returns:
        The summary now in the catalog.
    """
    started = time.perf_counter()
    info = commit.tables[table]
    ids = sample_row_ids(info.row_count, sample_rows, int(info.content_id[:16], 16))
    if ids is None:
        rows = store.read_table(commit.dataset, commit.id, table).table
    else:
        rows = store.read_rows(commit.dataset, commit.id, table, ids)
    title = f"{commit.dataset} / {table} @ {commit.short_id}"
    scope = (f"a deterministic sample of {rows.num_rows:,} of {info.row_count:,} rows" if ids is not None
             else f"all {info.row_count:,} rows")
    description = f"Dataset {commit.dataset!r}, table {table!r}, commit {commit.id}. This report covers {scope}."
    if ids is not None:
        title += f" (sample of {rows.num_rows:,} of {info.row_count:,} rows)"
    if rows.num_rows == 0:
        page, facts = _empty_report(title, info.schema.names), {
            "n_vars": len(info.schema), "missing_cells_pct": 0.0, "alerts": ()}
    else:
        page, facts = _report(_frame(rows), title, description, minimal)
    report_id = store.put_report(page.encode("utf-8"), REPORT_SUFFIX)
    summary = ProfileSummary(
        commit.id, commit.dataset, table, report_id, str(store.report_path(report_id, REPORT_SUFFIX)),
        info.row_count, rows.num_rows, sample_rows, minimal, facts["n_vars"], round(facts["missing_cells_pct"], 4),
        round(_duplicate_pct(store, commit, table), 4), facts["alerts"], utc_now(),
        round(time.perf_counter() - started, 3))
    key = (commit_profiles.c.commit_id == commit.id) & (commit_profiles.c.table_name == table)
    with store.catalog_write() as conn:
        conn.execute(commit_profiles.delete().where(key))
        conn.execute(commit_profiles.insert().values(
            commit_id=commit.id, table_name=table, dataset=commit.dataset, report_id=report_id,
            row_count=info.row_count, sample_rows=rows.num_rows, created_at=summary.created_at,
            summary=json.dumps(asdict(summary), sort_keys=True)))
    return summary


def profile_commit(store: Store, dataset: str, revision: str | None = None, table: str | None = None, *,
                   sample_rows: int = DEFAULT_SAMPLE_ROWS, minimal: bool = True,
                   force: bool = False) -> dict[str, ProfileSummary]:
    """Profile reports of a commit's tables: reuse stored ones made with the same settings, make the rest.

    Args:
        store: The store.
        dataset: The dataset.
        revision: Any revision (default: the default branch).
        table: Only this table (default: every table).
        sample_rows: Profile at most this many rows (a deterministic sample above).
        minimal: ydata-profiling's minimal configuration (fast; no correlations/interactions).
        force: Make new reports even if stored ones fit.

    Returns:
        {table: ProfileSummary}; ``summary.path`` is the HTML file.

    Raises:
        DatasetNotFound, RevisionNotFound: the commit does not exist.
        TableNotFound: no such table. InvalidInput: a non-positive sample size.
    """
    if sample_rows <= 0:
        raise InvalidInput(f"sample size must be positive, got {sample_rows}", sample_rows=sample_rows)
    commit = store.get_commit(dataset, revision)
    names = [store.table_info(dataset, commit.id, table).name] if table else sorted(commit.tables)
    found = {} if force else load_profiles(store, commit.id, names)
    out = {}
    for name in names:
        have = found.get(name)
        if (have is not None and have.sample_limit == sample_rows and have.minimal == minimal
                and store.has_report(have.report_id, REPORT_SUFFIX)):
            out[name] = have
        else:
            out[name] = profile_table(store, commit, name, sample_rows=sample_rows, minimal=minimal)
    return out
