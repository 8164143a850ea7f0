"""Markdown rendering of a statistical drift report (shown in the Dagster UI and the CLI)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .distribution_drift import ColumnDrift, DistributionDriftReport, TableDrift

_MARK = {"significant": "**significant**", "moderate": "*moderate*"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if 1e4 <= abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def _epoch_us(value: float | None) -> str:
    if value is None:
        return "–"
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=value)
    return moment.isoformat(sep=" ", timespec="seconds")


def _pair(pair: tuple, fmt=_num) -> str:  # noqa: ANN001
    before, after = pair
    if before == after:
        return fmt(after)
    return f"{fmt(before)} → {fmt(after)}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _column_row(c: ColumnDrift) -> str:
    measure = f"{c.measure.upper()} {c.value:.3f}" if c.measure and c.value is not None else "–"
    median = _pair(c.median, _epoch_us if c.kind == "temporal" else _num)
    mean = _pair(c.mean)
    if c.mean_shift is not None and c.mean[0] != c.mean[1]:
        mean += f" ({c.mean_shift:+.2f} σ)"
    cells = [f"`{_cell(c.name)}`", c.kind, _MARK.get(c.verdict, c.verdict), measure, _pair(c.null_rate, _rate),
             mean, median, _pair(c.distinct), _cell("; ".join(c.reasons)) or "–"]
    return "| " + " | ".join(cells) + " |"


def _table(t: TableDrift) -> list[str]:
    rows = _pair(t.rows)
    if t.change != "same":
        return [f"### Table `{_cell(t.table)}` — {t.change} ({rows} rows)", ""]
    counts = {v: sum(c.verdict == v for c in t.columns) for v in ("significant", "moderate", "schema")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n) or "no drift"
    lines = [f"### Table `{_cell(t.table)}` — {rows} rows — {summary}", "",
             "| column | kind | verdict | drift | null rate | mean | median | distinct | why |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [_column_row(c) for c in t.columns]
    added = [c.name for c in t.columns if c.change == "added"]
    removed = [c.name for c in t.columns if c.change == "removed"]
    if added:
        lines += ["", "Added columns: " + ", ".join(f"`{_cell(n)}`" for n in added)]
    if removed:
        lines += ["", "Removed columns: " + ", ".join(f"`{_cell(n)}`" for n in removed)]
    return [*lines, ""]


def render_markdown(report: DistributionDriftReport) -> str:
    """The report as markdown: a headline verdict, thresholds, then one table per table."""
    th = report.thresholds
    base = f"`{report.base_id[:12]}`" if report.base_id else "nothing (no parent)"
    alerts = report.alerts()
    lines = [
        f"## Statistical drift of `{_cell(report.dataset)}` `{report.commit_id[:12]}` against {base}", "",
        f"Verdict: {_MARK.get(report.verdict, report.verdict)} — {len(alerts)} column(s) at or above "
        f"*{th.alert_level}*.", "",
        f"Thresholds (moderate / significant): PSI {th.psi_moderate} / {th.psi_significant}, "
        f"TVD {th.tvd_moderate} / {th.tvd_significant}, null-rate change {th.null_rate_moderate} / "
        f"{th.null_rate_significant}; no verdict below {th.min_rows} rows.", "",
    ]
    for table in report.tables:
        lines += _table(table)
    if not report.tables:
        lines.append("Neither commit has tables.")
    return "\n".join(lines).rstrip() + "\n"
