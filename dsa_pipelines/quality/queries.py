"""The DuckDB SQL behind column statistics: a few ``UNPIVOT … GROUP BY col`` queries per table.

Columns are grouped by value *family* (ints, floats, decimals, dates, timestamps, times,
booleans, binary, text). Each family is one query: its columns are unpivoted into
``(col, x)`` pairs and every aggregate is computed ``GROUP BY col`` — so the query has
one fixed set of aggregates whatever the width (1,000 columns bind as fast as 10), and
DuckDB scans each value once. Families of more than :data:`UNPIVOT_BATCH` columns are
split into several queries. Text columns are grouped by (column, value) once (a few
columns one by one, which is faster on long tables); the per-value counts give top
values, exact distinct counts, lengths and how many values parse as numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import pyarrow as pa

from dsa_pipelines.storage.extension import duckdb_connect

KINDS = {
    "int": "numeric", "float": "numeric", "decimal": "numeric",
    "date": "temporal", "timestamp": "temporal", "timestamptz": "temporal", "time": "temporal",
    "string": "text", "bool": "boolean",
}
# logical type -> the SQL type its values are unpivoted as (one query per distinct type)
VALUE_TYPE = {
    "int": "HUGEINT", "float": "DOUBLE", "decimal": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ", "time": "TIME", "bool": "BOOLEAN", "binary": "BLOB", "string": "VARCHAR",
}
QUANTILES = {"p1": 0.01, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p99": 0.99}
DECILES = tuple(round(0.1 * i, 1) for i in range(1, 10))
_PROBS = sorted(set(QUANTILES.values()) | set(DECILES))
UNPIVOT_BATCH = 512
UNION_MAX_COLUMNS = 8
TOP_VALUES = 10


def kind_of(logical: str) -> str:
    """The statistics kind of a logical type: numeric, temporal, text, boolean or other."""
    return KINDS.get(logical, "other")


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def axis(x: str, logical: str) -> str:
    """``x`` (a value of the logical type) as the DOUBLE axis quantiles and drift bins use."""
    if logical in ("int", "float", "decimal"):
        return f"CAST({x} AS DOUBLE)"
    if logical == "date":
        return f"CAST(epoch_us(CAST({x} AS TIMESTAMP)) AS DOUBLE)"
    return f"CAST(epoch_us({x}) AS DOUBLE)"


def connect(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection (UTC) with the given Arrow tables registered."""
    con = duckdb_connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    return con


def batches(items: Sequence, size_of, limit: int) -> Iterator[list]:  # noqa: ANN001
    """Consecutive groups of ``items`` whose ``size_of`` adds up to at most ``limit`` (one item may exceed it)."""
    batch, size = [], 0
    for item in items:
        n = size_of(item)
        if batch and size + n > limit:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch


def _aggregates(logical: str, exact_distinct: bool) -> list[tuple[str, str]]:
    """(field, aggregate over ``x``) of one value family; ``x`` is never NULL (UNPIVOT drops NULLs)."""
    kind = kind_of(logical)
    finite = " FILTER (WHERE isfinite(x))" if logical == "float" else ""
    out = [("count", "count(*)"),
           ("distinct", "count(DISTINCT x)" if exact_distinct else "approx_count_distinct(x)")]
    if kind == "numeric":
        d = axis("x", logical)
        out += [("min", f"min(x){finite}"), ("max", f"max(x){finite}"), ("mean", f"avg({d}){finite}"),
                ("stddev", f"stddev_samp({d}){finite}"), ("quantiles", f"quantile_cont({d}, {_PROBS}){finite}"),
                ("zeros", "count_if(x = 0)")]
        if logical == "float":
            out.append(("non_finite", "count_if(NOT isfinite(x))"))
    elif kind == "temporal":
        out += [("min", "min(x)"), ("max", "max(x)"), ("quantiles", f"quantile_cont({axis('x', logical)}, {_PROBS})")]
    elif kind == "boolean":
        out += [("true_count", "count_if(x)"), ("false_count", "count_if(NOT x)")]
    return out


def unpivot(relation: str, columns: Sequence[str], value_type: str) -> str:
    """``(col, x)`` rows of the non-null values of ``columns``; ``col`` is the column's position."""
    select = ", ".join(f'CAST({ident(c)} AS {value_type}) AS "{i}"' for i, c in enumerate(columns))
    return f"(UNPIVOT (SELECT {select} FROM {ident(relation)}) ON COLUMNS(*) INTO NAME col VALUE x)"


def _defaults(logical: str) -> dict[str, object]:
    """The aggregates of a column without a single non-null value."""
    kind = kind_of(logical)
    out: dict[str, object] = {"count": 0, "distinct": 0}
    if kind == "numeric":
        out |= {"zeros": 0, **({"non_finite": 0} if logical == "float" else {})}
    elif kind == "boolean":
        out |= {"true_count": 0, "false_count": 0}
    return out


def aggregate(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[tuple[str, str]],
              exact_distinct: bool) -> dict[str, dict[str, object]]:
    """Count, distinct and kind-specific aggregates of every non-text column.

    Args:
        con: Connection holding ``relation``.
        relation: Registered table name.
        columns: (column name, logical type) pairs; text columns are left to
            :func:`text_summaries`, ``null`` columns need no query.
        exact_distinct: ``count(DISTINCT)`` (True) or HyperLogLog ``approx_count_distinct``.

    Returns:
        {column: {field: value}}; ``quantiles`` is the list of values at :data:`_PROBS`.
    """
    out: dict[str, dict[str, object]] = {name: _defaults(logical) for name, logical in columns}
    families: dict[str, list[str]] = {}
    for name, logical in columns:
        if logical in VALUE_TYPE and logical != "string":
            families.setdefault(logical, []).append(name)
    for logical, names in families.items():
        fields = _aggregates(logical, exact_distinct)
        for batch in batches(names, lambda _: 1, UNPIVOT_BATCH):
            sql = (f"SELECT col, {', '.join(expr for _, expr in fields)} "
                   f"FROM {unpivot(relation, batch, VALUE_TYPE[logical])} GROUP BY col")
            for col, *values in con.sql(sql).fetchall():
                out[batch[int(col)]].update(zip((f for f, _ in fields), values, strict=True))
    return out


def quantile_fields(values: Sequence[float | None] | None) -> tuple[dict[str, float] | None, tuple | None]:
    """Split the ``quantile_cont`` list into the named quantiles and the deciles."""
    if values is None or all(v is None for v in values):
        return None, None
    at = dict(zip(_PROBS, values, strict=True))
    return {k: at[p] for k, p in QUANTILES.items()}, tuple(at[p] for p in DECILES)


def _value_counts(relation: str, columns: Sequence[str]) -> str:
    """``(col, val, n)``: how often each non-null value occurs, per column (``col`` = position).

    A few columns are grouped one by one (fastest on long tables); more are unpivoted
    first, so that the query stays the same size however wide the table is.
    """
    if len(columns) <= UNION_MAX_COLUMNS:
        return " UNION ALL ".join(
            f"SELECT {i} AS col, CAST({ident(c)} AS VARCHAR) AS val, count(*) AS n FROM {ident(relation)} "
            f"WHERE {ident(c)} IS NOT NULL GROUP BY val" for i, c in enumerate(columns))
    return f"SELECT col, x AS val, count(*) AS n FROM {unpivot(relation, columns, 'VARCHAR')} GROUP BY col, val"


def text_summaries(con: duckdb.DuckDBPyConnection, relation: str,
                   columns: Sequence[str]) -> dict[str, dict[str, object]]:
    """Top values, exact distinct count, lengths and numeric-looking count of text columns.

    Each column is grouped by value once; the per-value counts give everything else
    (lengths and ``TRY_CAST`` are evaluated once per distinct value, weighted by count).

    Returns:
        {column: {count, distinct, numeric_values, min_length, max_length, mean_length,
        top_values: [(value, count), ...] most frequent first, ties by value}}.
    """
    out: dict[str, dict[str, object]] = {
        name: {"count": 0, "distinct": 0, "numeric_values": 0, "top_values": ()} for name in columns}
    for batch in batches(list(columns), lambda _: 1, UNPIVOT_BATCH):
        sql = (
            f"SELECT col, sum(n), count(*), "
            f"coalesce(sum(n) FILTER (WHERE TRY_CAST(val AS DOUBLE) IS NOT NULL), 0), "
            f"min(length(val)), max(length(val)), sum(length(val) * n) / sum(n), "
            f"min(struct_pack(k := -n, v := val), {TOP_VALUES}) "  # the most frequent; ties: smallest value
            f"FROM ({_value_counts(relation, batch)}) GROUP BY col"
        )
        for col, count, n_distinct, numeric, lmin, lmax, lmean, top in con.sql(sql).fetchall():
            out[batch[int(col)]] = {
                "count": int(count), "distinct": int(n_distinct), "numeric_values": int(numeric),
                "min_length": lmin, "max_length": lmax, "mean_length": float(lmean),
                "top_values": tuple((t["v"], -int(t["k"])) for t in top),
            }
    return out
