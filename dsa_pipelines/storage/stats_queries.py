"""The DuckDB SQL behind column statistics: a few aggregate queries over a whole table.

Columns are grouped by *kind* (``numeric``, ``temporal``, ``text``, ``boolean``,
``other``, from the store's logical types). One aggregate ``SELECT`` computes every
numeric, temporal, boolean and count expression of up to :data:`MAX_EXPRESSIONS`
expressions (wider tables get several such queries); text columns get one
``GROUP BY`` per column, ``UNION ALL``-ed into one query per :data:`TEXT_BATCH`
columns, which yields top values, exact distinct counts and lengths at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import pyarrow as pa

KINDS = {
    "int": "numeric", "float": "numeric", "decimal": "numeric",
    "date": "temporal", "timestamp": "temporal", "timestamptz": "temporal", "time": "temporal",
    "string": "text", "bool": "boolean",
}
QUANTILES = {"p1": 0.01, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p99": 0.99}
DECILES = tuple(round(0.1 * i, 1) for i in range(1, 10))
_PROBS = sorted(set(QUANTILES.values()) | set(DECILES))
MAX_EXPRESSIONS = 256
TEXT_BATCH = 64
TOP_VALUES = 10


def kind_of(logical: str) -> str:
    """The statistics kind of a logical type: numeric, temporal, text, boolean or other."""
    return KINDS.get(logical, "other")


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def projection(column: str, logical: str) -> str:
    """A DOUBLE expression of a numeric/temporal column: the axis quantiles and bins use.

    Numbers are themselves (non-finite floats become NULL); dates, times and
    timestamps are microseconds since the epoch (midnight for times).
    """
    c = ident(column)
    if logical == "float":
        return f"CASE WHEN isfinite({c}) THEN CAST({c} AS DOUBLE) END"
    if logical in ("int", "decimal"):
        return f"CAST({c} AS DOUBLE)"
    if logical == "date":
        return f"CAST(epoch_us(CAST({c} AS TIMESTAMP)) AS DOUBLE)"
    return f"CAST(epoch_us({c}) AS DOUBLE)"


def connect(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection (UTC) with the given Arrow tables registered."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    return con


def _column_expressions(column: str, logical: str, exact_distinct: bool) -> list[tuple[str, str]]:
    """(field, SQL aggregate) pairs for one column of the aggregate query."""
    c, kind = ident(column), kind_of(logical)
    out = [("count", f"count({c})")]
    if kind != "text":
        distinct = f"count(DISTINCT {c})" if exact_distinct else f"approx_count_distinct({c})"
        out.append(("distinct", distinct))
    if kind == "numeric":
        x = projection(column, logical)
        raw = f"CASE WHEN isfinite({c}) THEN {c} END" if logical == "float" else c
        out += [("min", f"min({raw})"), ("max", f"max({raw})"), ("mean", f"avg({x})"),
                ("stddev", f"stddev_samp({x})"), ("quantiles", f"quantile_cont({x}, {_PROBS})"),
                ("zeros", f"coalesce(count_if({x} = 0), 0)")]
        if logical == "float":
            out.append(("non_finite", f"coalesce(count_if(NOT isfinite({c})), 0)"))
    elif kind == "temporal":
        out += [("min", f"min({c})"), ("max", f"max({c})"),
                ("quantiles", f"quantile_cont({projection(column, logical)}, {_PROBS})")]
    elif kind == "boolean":
        out += [("true_count", f"coalesce(count_if({c}), 0)"), ("false_count", f"coalesce(count_if(NOT {c}), 0)")]
    return out


def batches(items: Sequence, size_of, limit: int) -> Iterator[list]:
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


def aggregate(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[tuple[str, str]],
              exact_distinct: bool) -> dict[str, dict[str, object]]:
    """Run the aggregate queries over ``relation``.

    Args:
        con: Connection holding ``relation``.
        relation: Registered table name.
        columns: (column name, logical type) pairs.
        exact_distinct: ``count(DISTINCT)`` (True) or HyperLogLog ``approx_count_distinct``.

    Returns:
        {column: {field: value}}; ``quantiles`` is the list of values at :data:`_PROBS`.
    """
    planned = [(name, _column_expressions(name, logical, exact_distinct)) for name, logical in columns]
    out: dict[str, dict[str, object]] = {name: {} for name, _ in columns}
    for batch in batches(planned, lambda p: len(p[1]), MAX_EXPRESSIONS):
        fields = [(name, field) for name, exprs in batch for field, _ in exprs]
        sql = ", ".join(expr for _, exprs in batch for _, expr in exprs)
        row = con.sql(f"SELECT {sql} FROM {ident(relation)}").fetchall()[0]
        for (name, field), value in zip(fields, row, strict=True):
            out[name][field] = value
    return out


def quantile_fields(values: Sequence[float | None] | None) -> tuple[dict[str, float] | None, tuple | None]:
    """Split the ``quantile_cont`` list into the named quantiles and the deciles."""
    if values is None or all(v is None for v in values):
        return None, None
    at = dict(zip(_PROBS, values, strict=True))
    return {k: at[p] for k, p in QUANTILES.items()}, tuple(at[p] for p in DECILES)


def text_summaries(con: duckdb.DuckDBPyConnection, relation: str,
                   columns: Sequence[str]) -> dict[str, dict[str, object]]:
    """Top values, exact distinct count, lengths and numeric-looking count of text columns.

    Each column is grouped by value once; the per-value counts give everything else
    (lengths and ``TRY_CAST`` are evaluated once per distinct value, weighted by count).

    Returns:
        {column: {distinct, numeric_values, min_length, max_length, mean_length,
        top_values: [(value, count), ...] most frequent first, ties by value}}.
    """
    out: dict[str, dict[str, object]] = {}
    for batch in batches(list(enumerate(columns)), lambda _: 1, TEXT_BATCH):
        ctes = ", ".join(
            f"g{i} AS MATERIALIZED (SELECT CAST({ident(name)} AS VARCHAR) AS val, count(*) AS n "
            f"FROM {ident(relation)} WHERE {ident(name)} IS NOT NULL GROUP BY 1)" for i, name in batch)
        parts = [
            f"SELECT {i} AS col, count(*) AS n_distinct, "
            f"coalesce(sum(n) FILTER (WHERE TRY_CAST(val AS DOUBLE) IS NOT NULL), 0) AS numeric_values, "
            f"min(length(val)) AS min_length, max(length(val)) AS max_length, "
            f"sum(length(val) * n) / sum(n) AS mean_length, "
            f"(SELECT list(struct_pack(v := val, n := n)) FROM "
            f"(SELECT val, n FROM g{i} ORDER BY n DESC, val LIMIT {TOP_VALUES})) AS top FROM g{i}"
            for i, _ in batch
        ]
        for col, n_distinct, numeric, lmin, lmax, lmean, top in con.sql(
                f"WITH {ctes} " + " UNION ALL ".join(parts)).fetchall():
            ranked = sorted(((t["v"], int(t["n"])) for t in top or []), key=lambda t: (-t[1], t[0]))
            out[columns[col]] = {
                "distinct": int(n_distinct), "numeric_values": int(numeric), "min_length": lmin,
                "max_length": lmax, "mean_length": float(lmean) if lmean is not None else None,
                "top_values": tuple(ranked),
            }
    return out
