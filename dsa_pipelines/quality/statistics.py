"""Statistics of every table of a commit, computed once in DuckDB and kept in the catalog.

A commit never changes, so its statistics are a cache keyed by (commit, table) in the
``commit_statistics`` catalog table: :func:`store_statistics` computes what is missing
and reads the rest. Per table: row count and in-memory (Arrow) size; per column:
logical type, nulls, distinct count and, by kind, numeric moments and quantiles,
temporal range, text lengths and top values, boolean counts (see ``docs/statistics.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from dsa_pipelines.storage import InvalidInput
from dsa_pipelines.storage.extension import commit_tables, commits, logical_type, utc_now

from .queries import aggregate, connect, kind_of, quantile_fields, text_summaries
from .tables import commit_statistics

if TYPE_CHECKING:
    from dsa_pipelines.storage import Store

FORMAT_VERSION = 1
EXACT_DISTINCT_MAX_ROWS = 250_000
_RELATION = "t"


def _plain(value: object) -> object:
    """A JSON-ready scalar: ISO text for times, float for decimals, None for NaN."""
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass(frozen=True)
class ColumnStatistics:
    """Statistics of one column. Fields that do not apply to the column's kind are None.

    Attributes:
        name: Column name.
        type: Arrow type.
        logical: Logical (hashing) type, e.g. ``int``, ``string``, ``timestamptz``.
        kind: ``numeric``, ``temporal``, ``text``, ``boolean`` or ``other``.
        count: Non-null values.
        nulls: Null values.
        null_rate: ``nulls / rows`` (0.0 for an empty table).
        distinct: Distinct non-null values.
        distinct_exact: Whether ``distinct`` is exact (else HyperLogLog, ~2% error).
        min, max: Smallest/largest value (numeric: finite values; temporal: ISO text).
        mean, stddev: Mean and sample standard deviation (numeric; finite values).
        quantiles: ``{p1, p25, p50, p75, p99}`` by linear interpolation (numeric).
        deciles: Values at 10%..90% on the column's numeric axis (numbers; epoch
            microseconds for temporal columns) — the drift bins.
        zeros: Values equal to zero (numeric).
        non_finite: NaN and ±inf values (float), left out of min/max/mean/quantiles.
        min_length, max_length, mean_length: Text lengths in characters.
        top_values: Up to 10 ``(value, count)``, most frequent first, ties by value (text).
        numeric_values: Text values that parse as numbers (flags numbers stored as text).
        true_count, false_count: Boolean counts.
    """

    name: str
    type: str
    logical: str
    kind: str
    count: int
    nulls: int
    null_rate: float
    distinct: int | None = None
    distinct_exact: bool = True
    min: object = None
    max: object = None
    mean: float | None = None
    stddev: float | None = None
    quantiles: dict | None = None
    deciles: tuple | None = None
    zeros: int | None = None
    non_finite: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    mean_length: float | None = None
    top_values: tuple | None = None
    numeric_values: int | None = None
    true_count: int | None = None
    false_count: int | None = None

    @classmethod
    def from_dict(cls, data: dict) -> ColumnStatistics:
        """Inverse of ``dataclasses.asdict`` (lists back to tuples)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("deciles") is not None:
            values["deciles"] = tuple(values["deciles"])
        if values.get("top_values") is not None:
            values["top_values"] = tuple((v, n) for v, n in values["top_values"])
        return cls(**values)


@dataclass(frozen=True)
class TableStatistics:
    """Statistics of one table of one commit.

    Attributes:
        commit_id: The commit.
        table: Table name.
        row_count: Rows.
        bytes: Size of the rows as uncompressed in-memory Arrow data (``Table.nbytes``),
            not the (shared, compressed) pack bytes on disk.
        columns: Per-column statistics, in schema order.
        computed_at: When they were computed (ISO UTC).
        seconds: How long computing took.
    """

    commit_id: str
    table: str
    row_count: int
    bytes: int
    columns: tuple[ColumnStatistics, ...]
    computed_at: str
    seconds: float

    def column(self, name: str) -> ColumnStatistics:
        """The statistics of one column.

        Raises:
            InvalidInput: no such column.
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise InvalidInput(f"table {self.table!r} has no column {name!r}", column=name)

    def to_dict(self) -> dict:
        """The JSON-ready form stored in the catalog."""
        out = asdict(self)
        out["format"] = FORMAT_VERSION
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TableStatistics:
        """Inverse of :meth:`to_dict`."""
        return cls(data["commit_id"], data["table"], data["row_count"], data["bytes"],
                   tuple(ColumnStatistics.from_dict(c) for c in data["columns"]), data["computed_at"],
                   data["seconds"])


def compute_statistics(table: pa.Table, commit_id: str, name: str, logical_types: dict[str, str] | None = None, *,
                       exact_distinct_max_rows: int = EXACT_DISTINCT_MAX_ROWS) -> TableStatistics:
    """Compute statistics of an Arrow table in DuckDB (nothing is stored).

    Args:
        table: The rows.
        commit_id: Recorded in the result.
        name: Table name, recorded in the result.
        logical_types: {column: logical type}; default derived from the Arrow schema.
        exact_distinct_max_rows: Exact distinct counts up to this many rows, HyperLogLog
            above (text columns are always exact: their values are grouped anyway).

    Returns:
        The table's statistics.
    """

    started = time.perf_counter()
    logical = {f.name: (logical_types or {}).get(f.name) or logical_type(f.type) for f in table.schema}
    rows = table.num_rows
    exact = rows <= exact_distinct_max_rows
    texts = [f.name for f in table.schema if kind_of(logical[f.name]) == "text"]
    text_set = set(texts)
    con = connect({_RELATION: table})
    try:
        found = aggregate(con, _RELATION, [(f.name, logical[f.name]) for f in table.schema if f.name not in text_set],
                          exact)
        found |= text_summaries(con, _RELATION, texts) if texts else {}
    finally:
        con.close()
    columns = []
    for f in table.schema:
        a, kind = dict(found[f.name]), kind_of(logical[f.name])
        count = int(a.pop("count"))
        quantiles, deciles = quantile_fields(a.pop("quantiles", None))
        values: dict = {"name": f.name, "type": str(f.type), "logical": logical[f.name], "kind": kind,
                        "count": count, "nulls": rows - count, "null_rate": (rows - count) / rows if rows else 0.0,
                        "distinct_exact": exact or kind == "text", **a}
        if kind == "numeric":
            values["quantiles"] = quantiles and {k: _plain(v) for k, v in quantiles.items()}
        if kind in ("numeric", "temporal"):
            values["deciles"] = deciles
        values["distinct"] = min(int(values["distinct"]), count)
        columns.append(ColumnStatistics(**{k: v if isinstance(v, (dict, tuple)) else _plain(v)
                                           for k, v in values.items()}))
    return TableStatistics(commit_id, name, rows, int(table.nbytes), tuple(columns), utc_now(),
                           round(time.perf_counter() - started, 6))


def load_statistics(store: Store, commit_id: str, tables: list[str] | None = None) -> dict[str, TableStatistics]:
    """The stored statistics of a commit's tables (only those already computed).

    Args:
        store: The store.
        commit_id: Full commit id.
        tables: Only these tables (default: all stored).
    """
    query = sa.select(commit_statistics.c.table_name, commit_statistics.c.payload).where(
        commit_statistics.c.commit_id == commit_id, commit_statistics.c.format == FORMAT_VERSION)
    if tables is not None:
        query = query.where(commit_statistics.c.table_name.in_(tables))
    with store.catalog_read() as conn:
        rows = conn.execute(query).all()
    return {r.table_name: TableStatistics.from_dict(json.loads(r.payload)) for r in rows}


def _save(store: Store, stats: TableStatistics) -> TableStatistics:
    """Store statistics; if another process stored them first, keep (and return) theirs."""
    key = (commit_statistics.c.commit_id == stats.commit_id) & (commit_statistics.c.table_name == stats.table)
    try:
        with store.catalog_write() as conn:
            conn.execute(commit_statistics.delete().where(key & (commit_statistics.c.format != FORMAT_VERSION)))
            conn.execute(commit_statistics.insert().values(
                commit_id=stats.commit_id, table_name=stats.table, format=FORMAT_VERSION, row_count=stats.row_count,
                computed_at=stats.computed_at, payload=json.dumps(stats.to_dict(), sort_keys=True)))
    except sa.exc.IntegrityError:
        found = load_statistics(store, stats.commit_id, [stats.table])
        if stats.table not in found:
            raise
        return found[stats.table]
    return stats


def store_statistics(store: Store, dataset: str, revision: str | None = None, table: str | None = None, *,
                     exact_distinct_max_rows: int = EXACT_DISTINCT_MAX_ROWS) -> dict[str, TableStatistics]:
    """Statistics of a commit's tables: read from the catalog, computing what is missing.

    Args:
        store: The store.
        dataset: The dataset.
        revision: Any revision (default: the default branch).
        table: Only this table (default: every table of the commit).
        exact_distinct_max_rows: See :func:`compute_statistics` (used when computing).

    Returns:
        {table name: TableStatistics}, by table name.

    Raises:
        DatasetNotFound, RevisionNotFound, TableNotFound.
    """
    commit = store.get_commit(dataset, revision)
    names = [store.table_info(dataset, commit.id, table).name] if table else sorted(commit.tables)
    found = load_statistics(store, commit.id, names)
    for name in names:
        if name in found:
            continue
        info = commit.tables[name]
        rows = store.read_table(dataset, commit.id, name).table
        computed = compute_statistics(rows, commit.id, name, {c.name: c.logical for c in info.columns},
                                      exact_distinct_max_rows=exact_distinct_max_rows)
        found[name] = _save(store, computed)
    return {name: found[name] for name in names}


def commits_without_statistics(store: Store, limit: int = 100) -> list[tuple[str, str]]:
    """Commits with at least one table whose statistics are not stored yet, newest first.

    Returns:
        Up to ``limit`` ``(dataset, commit id)`` pairs.
    """
    missing = (
        sa.select(commits.c.dataset, commits.c.id, commits.c.created_at)
        .select_from(commit_tables.join(commits, commits.c.id == commit_tables.c.commit_id).outerjoin(
            commit_statistics, (commit_statistics.c.commit_id == commit_tables.c.commit_id)
            & (commit_statistics.c.table_name == commit_tables.c.name)
            & (commit_statistics.c.format == FORMAT_VERSION)))
        .where(commit_statistics.c.commit_id.is_(None))
        .distinct()
        .order_by(commits.c.created_at.desc(), commits.c.id)
        .limit(limit)
    )
    with store.catalog_read() as conn:
        return [(r.dataset, r.id) for r in conn.execute(missing)]
