"""Statistical drift between two commits: how each column's distribution changed.

Per column of every table both commits hold: null-rate change, mean/quantile and
distinct-count change, and a distribution-drift measure —

* **PSI** (population stability index) for numeric and temporal columns, over shared
  bins whose edges are the baseline's deciles: ``Σ (q − p) · ln(q / p)``;
* **TVD** (total-variation distance) for text and boolean columns, over the union of
  both sides' top values plus an "other" bucket: ``½ Σ |q − p|``.

Bin and category counts come from one vectorised DuckDB aggregate per side
(values unpivoted and binned against a table of each column's baseline edges). Each column gets a verdict (ok,
moderate, significant; "schema" for added, removed or re-typed columns; "n/a" when a
side has too few rows) from :class:`DriftThresholds`, which a dataset may override in
its settings (``{"drift_thresholds": {...}}``). Markdown rendering is in
:mod:`.distribution_report`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

import pyarrow as pa

from dsa_pipelines.storage import InvalidInput

from .distribution_report import render_markdown
from .queries import UNPIVOT_BATCH, VALUE_TYPE, axis, batches, connect, unpivot
from .statistics import ColumnStatistics, TableStatistics, store_statistics

if TYPE_CHECKING:
    from dsa_pipelines.storage import Commit, Store

LEVELS = ("ok", "moderate", "significant")
SEVERITY = {"significant": 4, "moderate": 3, "schema": 2, "n/a": 1, "ok": 0}
PSI_EPSILON = 1e-4
MEASURES = {"numeric": "psi", "temporal": "psi", "text": "tvd", "boolean": "tvd"}


@dataclass(frozen=True)
class DriftThresholds:
    """When a change counts as moderate or significant.

    Attributes:
        psi_moderate, psi_significant: PSI levels (numeric/temporal; common practice
            0.1 "monitor", 0.25 "act").
        tvd_moderate, tvd_significant: Total-variation distance levels (text/boolean).
        null_rate_moderate, null_rate_significant: Absolute change of the null rate.
        min_rows: Fewer rows on either side make a verdict "n/a" (too noisy to judge).
        alert_level: Lowest verdict reported as an alert (``moderate`` or ``significant``).
    """

    psi_moderate: float = 0.1
    psi_significant: float = 0.25
    tvd_moderate: float = 0.1
    tvd_significant: float = 0.2
    null_rate_moderate: float = 0.05
    null_rate_significant: float = 0.2
    min_rows: int = 20
    alert_level: str = "significant"

    def __post_init__(self) -> None:
        for m in ("psi", "tvd", "null_rate"):
            lo, hi = getattr(self, f"{m}_moderate"), getattr(self, f"{m}_significant")
            if not 0 <= lo <= hi:
                raise InvalidInput(f"drift thresholds: need 0 <= {m}_moderate ({lo}) <= {m}_significant ({hi})")
        if self.alert_level not in LEVELS[1:]:
            raise InvalidInput(f"drift thresholds: alert_level {self.alert_level!r} is not moderate or significant")

    @classmethod
    def from_settings(cls, settings: Mapping | None) -> DriftThresholds:
        """Thresholds from a dataset's settings (``settings["drift_thresholds"]``), defaults elsewhere.

        Raises:
            InvalidInput: an unknown key or a value of the wrong type.
        """
        given = dict((settings or {}).get("drift_thresholds") or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise InvalidInput(f"drift thresholds: unknown setting(s) {unknown}; known: {sorted(known)}")
        try:
            values = {k: (str(v) if k == "alert_level" else int(v) if k == "min_rows" else float(v))
                      for k, v in given.items()}
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"drift thresholds: {e}") from e
        return cls(**values)

    def level(self, measure: str, value: float | None) -> str:
        """``ok``, ``moderate`` or ``significant`` for a measure (psi, tvd, null_rate)."""
        if value is None:
            return "ok"
        if value >= getattr(self, f"{measure}_significant"):
            return "significant"
        return "moderate" if value >= getattr(self, f"{measure}_moderate") else "ok"


@dataclass(frozen=True)
class ColumnDrift:
    """How one column changed. Pairs are (base, commit); None where a side lacks the value.

    Attributes:
        name: Column name.
        kind: Statistics kind (the commit's; the base's for a removed column).
        change: ``same``, ``added``, ``removed``, ``retyped`` (logical type changed
            within a kind) or ``rekinded`` (e.g. number → text; not compared).
        types: Logical types.
        null_rate, mean, median, distinct: Before/after values (median: numeric axis,
            epoch microseconds for temporal columns).
        measure: ``psi``, ``tvd`` or None (not measurable).
        value: The measure's value.
        mean_shift: Mean change in base standard deviations (numeric).
        verdict: ``significant``, ``moderate``, ``schema``, ``n/a`` or ``ok``.
        reasons: Why the verdict, in words.
    """

    name: str
    kind: str
    change: str
    types: tuple
    null_rate: tuple = (None, None)
    mean: tuple = (None, None)
    median: tuple = (None, None)
    distinct: tuple = (None, None)
    measure: str | None = None
    value: float | None = None
    mean_shift: float | None = None
    verdict: str = "ok"
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableDrift:
    """Drift of one table: ``change`` is ``same``, ``added`` or ``removed``; columns most severe first."""

    table: str
    change: str
    rows: tuple
    columns: tuple[ColumnDrift, ...] = ()

    @property
    def verdict(self) -> str:
        """The most severe column verdict (``schema`` for an added/removed table)."""
        if self.change != "same":
            return "schema"
        return max((c.verdict for c in self.columns), key=SEVERITY.__getitem__, default="ok")


@dataclass(frozen=True)
class DistributionDriftReport:
    """Statistical drift of a commit against a base commit (None: no base, every table added)."""

    dataset: str
    commit_id: str
    base_id: str | None
    thresholds: DriftThresholds
    tables: tuple[TableDrift, ...]

    @property
    def verdict(self) -> str:
        """The most severe verdict of any table."""
        return max((t.verdict for t in self.tables), key=SEVERITY.__getitem__, default="ok")

    def alerts(self, level: str | None = None) -> list[tuple[str, ColumnDrift]]:
        """(table, column) pairs whose verdict is at least ``level`` (default: thresholds.alert_level)."""
        floor = SEVERITY[level or self.thresholds.alert_level]
        return [(t.table, c) for t in self.tables for c in t.columns
                if c.verdict in LEVELS and SEVERITY[c.verdict] >= floor]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        out = asdict(self)
        out["verdict"] = self.verdict
        for table, data in zip(self.tables, out["tables"], strict=True):
            data["verdict"] = table.verdict
        return out

    def to_markdown(self) -> str:
        """A readable report (see :mod:`.distribution_report`)."""

        return render_markdown(self)


def psi(base: list[int], new: list[int]) -> float:
    """Population stability index of two histograms over the same bins (zero bins floored at 1e-4)."""
    nb, nn = sum(base), sum(new)
    total = 0.0
    for b, n in zip(base, new, strict=True):
        p, q = max(b / nb, PSI_EPSILON), max(n / nn, PSI_EPSILON)
        total += (q - p) * math.log(q / p)
    return total


def tvd(base: list[int], new: list[int]) -> float:
    """Total-variation distance of two count vectors over the same categories."""
    nb, nn = sum(base), sum(new)
    return 0.5 * sum(abs(b / nb - n / nn) for b, n in zip(base, new, strict=True))


def _plan(before: ColumnStatistics, after: ColumnStatistics) -> tuple[str, object] | None:
    """How a column is measured: ("psi", bin edges) or ("tvd", categories), or None."""
    if before.kind in ("numeric", "temporal"):
        edges = sorted({e for e in before.deciles or () if e is not None})
        return ("psi", edges) if edges else None
    if before.kind == "text":
        cats = sorted({v for v, _ in (before.top_values or ())} | {v for v, _ in (after.top_values or ())})
        return ("tvd", cats)
    return None


def _bin_counts(con, names: list[str], logical: str, plans: dict[str, tuple]) -> dict[str, dict]:  # noqa: ANN001
    """Histogram of numeric/temporal columns of one logical type over their baseline bins.

    A value's bin is the number of edges below it (bin 0: at most the first edge). The
    columns are unpivoted and joined with an Arrow table of their edges, so the query
    stays the same size however many columns there are.
    """
    out: dict[str, dict] = {}
    for batch in batches(names, lambda _: 1, UNPIVOT_BATCH):
        con.register("edges", pa.table({"col": pa.array(range(len(batch)), pa.int32()),
                                        "edges": pa.array([plans[n][1] for n in batch], pa.list_(pa.float64()))}))
        finite = "WHERE isfinite(u.x)" if logical == "float" else ""
        rows = con.sql(
            f"SELECT u.col, len(list_filter(e.edges, lambda v: v < {axis('u.x', logical)})) AS bin, count(*) "
            f"FROM {unpivot('t', batch, VALUE_TYPE[logical])} u JOIN edges e ON e.col = CAST(u.col AS INTEGER) "
            f"{finite} GROUP BY ALL").fetchall()
        con.unregister("edges")
        for col, b, n in rows:
            out.setdefault(batch[int(col)], {})[int(b)] = int(n)
    return out


def _category_counts(con, names: list[str], plans: dict[str, tuple]) -> dict[str, dict]:  # noqa: ANN001
    """Occurrences of each listed category of text columns (unpivoted, joined with the categories)."""
    out: dict[str, dict] = {}
    for batch in batches(names, lambda _: 1, UNPIVOT_BATCH):
        pairs = [(i, c) for i, n in enumerate(batch) for c in plans[n][1]]
        con.register("wanted", pa.table({"col": pa.array([i for i, _ in pairs], pa.int32()),
                                         "val": pa.array([c for _, c in pairs], pa.string())}))
        rows = con.sql(
            f"SELECT u.col, u.x, count(*) FROM {unpivot('t', batch, 'VARCHAR')} u "
            f"JOIN wanted w ON w.col = CAST(u.col AS INTEGER) AND w.val = u.x GROUP BY ALL").fetchall()
        con.unregister("wanted")
        for col, val, n in rows:
            out.setdefault(batch[int(col)], {})[val] = int(n)
    return out


def _counts(table: pa.Table, stats: TableStatistics, plans: dict[str, tuple]) -> dict[str, dict]:
    """{column: {bin or category: count}} for one side: one query per value type (and batch)."""
    logical = {c.name: c.logical for c in stats.columns}
    families: dict[str, list[str]] = {}
    for name, how in plans.items():
        families.setdefault(logical[name] if how[0] == "psi" else "string", []).append(name)
    out: dict[str, dict] = {name: {} for name in plans}
    con = connect({"t": table})
    try:
        for family, names in families.items():
            if family == "string":
                out.update(_category_counts(con, names, plans))
            else:
                out.update(_bin_counts(con, names, family, plans))
    finally:
        con.close()
    return out


def _distribution(how: tuple, counts: dict, col: ColumnStatistics) -> list[int]:
    if how[0] == "psi":
        return [int(counts.get(i, 0)) for i in range(len(how[1]) + 1)]
    listed = [int(counts.get(c, 0)) for c in how[1]]
    return [*listed, col.count - sum(listed)]


def _column(before: ColumnStatistics | None, after: ColumnStatistics | None) -> ColumnDrift:
    """The drift skeleton of a column (no measure yet)."""
    if before is None or after is None:
        col = after or before

        def pair(field: str) -> tuple:
            return tuple(getattr(side, field) if side is not None else None for side in (before, after))

        return ColumnDrift(col.name, col.kind, "added" if before is None else "removed", pair("logical"),
                           pair("null_rate"), pair("mean"), (None, None), pair("distinct"), verdict="schema",
                           reasons=("column added" if before is None else "column removed",))
    change = "same" if before.logical == after.logical else "retyped" if before.kind == after.kind else "rekinded"
    median = (before.quantiles or {}).get("p50"), (after.quantiles or {}).get("p50")
    if before.kind == "temporal":
        median = (before.deciles or (None,) * 5)[4], (after.deciles or (None,) * 5)[4]
    shift = None
    if before.mean is not None and after.mean is not None and before.stddev:
        shift = (after.mean - before.mean) / before.stddev
    return ColumnDrift(
        after.name, after.kind, change, (before.logical, after.logical), (before.null_rate, after.null_rate),
        (before.mean, after.mean), median, (before.distinct, after.distinct), mean_shift=shift,
        verdict="schema" if change == "rekinded" else "ok",
        reasons=(f"type {before.logical} → {after.logical}",) if change != "same" else ())


def _judge(col: ColumnDrift, measure: str | None, value: float | None, before: TableStatistics,
           after: TableStatistics, th: DriftThresholds) -> ColumnDrift:
    """Attach the measure and the verdict (worst of distribution and null-rate change)."""
    if min(before.row_count, after.row_count) < th.min_rows:
        return replace(col, measure=measure, value=value, verdict="n/a",
                       reasons=(*col.reasons, f"fewer than {th.min_rows} rows on a side"))
    reasons = list(col.reasons)
    levels = []
    if measure is not None and value is not None:
        levels.append(th.level(measure, value))
        if levels[-1] != "ok":
            reasons.append(f"{measure.upper()} {value:.3f} ≥ {getattr(th, f'{measure}_{levels[-1]}')}")
    delta = abs(col.null_rate[1] - col.null_rate[0])
    levels.append(th.level("null_rate", delta))
    if levels[-1] != "ok":
        reasons.append(f"null rate {col.null_rate[0]:.1%} → {col.null_rate[1]:.1%}")
    worst = max(levels, key=SEVERITY.__getitem__)
    verdict = worst if worst != "ok" or col.change == "same" else "schema"
    return replace(col, measure=measure, value=value, verdict=verdict, reasons=tuple(reasons))


def _sort(columns: list[ColumnDrift]) -> tuple[ColumnDrift, ...]:
    return tuple(sorted(columns, key=lambda c: (-SEVERITY[c.verdict], -(c.value or 0.0), c.name)))


def table_drift(store: Store, base: Commit, commit: Commit, before: TableStatistics, after: TableStatistics,
                thresholds: DriftThresholds) -> TableDrift:
    """Drift of one table present in both commits (reads only the measured columns)."""
    b_cols, a_cols = {c.name: c for c in before.columns}, {c.name: c for c in after.columns}
    names = [c.name for c in after.columns] + [c.name for c in before.columns if c.name not in a_cols]
    skeleton = {n: _column(b_cols.get(n), a_cols.get(n)) for n in names}
    same_content = base.tables[before.table].content_id == commit.tables[after.table].content_id
    plans = {} if same_content else {
        n: how for n in names if n in b_cols and n in a_cols and skeleton[n].change != "rekinded"
        and (how := _plan(b_cols[n], a_cols[n])) is not None}
    measured: dict[str, tuple[str | None, float | None]] = {}
    if plans and min(before.row_count, after.row_count) >= thresholds.min_rows:
        base_rows = store.read_table(base.dataset, base.id, before.table, columns=list(plans)).table
        b_counts = _counts(base_rows, before, plans)
        del base_rows
        new_rows = store.read_table(commit.dataset, commit.id, after.table, columns=list(plans)).table
        a_counts = _counts(new_rows, after, plans)
        for n, how in plans.items():
            p, q = _distribution(how, b_counts[n], b_cols[n]), _distribution(how, a_counts[n], a_cols[n])
            if sum(p) and sum(q):
                measured[n] = (how[0], (psi if how[0] == "psi" else tvd)(p, q))
    for n in names:
        b, a = b_cols.get(n), a_cols.get(n)
        if b is None or a is None:
            continue
        if n not in measured and b.kind == a.kind == "boolean" and b.count and a.count:
            measured[n] = ("tvd", tvd([b.true_count, b.false_count], [a.true_count, a.false_count]))
        if same_content and a.kind in MEASURES:
            measured[n] = (MEASURES[a.kind], 0.0)
        if skeleton[n].change != "rekinded":
            skeleton[n] = _judge(skeleton[n], *measured.get(n, (None, None)), before, after, thresholds)
    return TableDrift(after.table, "same", (before.row_count, after.row_count), _sort(list(skeleton.values())))


def stat_diff(store: Store, dataset: str, revision: str | None = None, base: str | None = None, *,
              thresholds: DriftThresholds | None = None) -> DistributionDriftReport:
    """Statistical drift of a commit against a base commit, table by table, column by column.

    Statistics of both commits are read from the catalog (computed first if missing).

    Args:
        store: The store.
        dataset: The dataset.
        revision: The commit (default: the default branch's head).
        base: The baseline (default: the commit's first parent; a root commit has none).
        thresholds: Verdict levels (default: the dataset's ``drift_thresholds`` setting, else
            :class:`DriftThresholds` defaults).

    Returns:
        The report; ``report.to_markdown()`` renders it.

    Raises:
        DatasetNotFound, RevisionNotFound, InvalidInput (bad thresholds setting).
    """
    commit = store.get_commit(dataset, revision)
    base_commit = store.get_commit(dataset, base) if base else (
        store.get_commit(dataset, commit.parents[0]) if commit.parents else None)
    thresholds = thresholds or DriftThresholds.from_settings(store.get_dataset(dataset).settings)
    after = store_statistics(store, dataset, commit.id)
    before = store_statistics(store, dataset, base_commit.id) if base_commit else {}
    tables = []
    for name in sorted(set(after) | set(before)):
        if name not in before:
            tables.append(TableDrift(name, "added", (None, after[name].row_count)))
        elif name not in after:
            tables.append(TableDrift(name, "removed", (before[name].row_count, None)))
        else:
            tables.append(table_drift(store, base_commit, commit, before[name], after[name], thresholds))
    tables.sort(key=lambda t: (-SEVERITY[t.verdict], t.table))
    base_id = base_commit.id if base_commit else None
    return DistributionDriftReport(dataset, commit.id, base_id, thresholds, tuple(tables))
