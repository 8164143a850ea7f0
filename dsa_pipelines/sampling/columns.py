"""Column facts for configuring a sample: types, nulls, distinct counts, low-cardinality values."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa

from dsa_pipelines.storage import Store
from dsa_pipelines.storage.extension import duckdb_connect

from .filters import column_kind, quote_identifier

MAX_DISTINCT_VALUES = 50


@dataclass(frozen=True)
class SampleColumn:
    """One column of a table as a sampling option.

    Attributes:
        name: Column name.
        type: Arrow type.
        kind: number, text, boolean, date, timestamp or other.
        nullable: Whether any value is null in this version.
        nulls: Number of null values.
        distinct: Number of distinct non-null values (None: not countable for this type).
        values: The distinct non-null values, sorted, when there are at most
            ``max_distinct`` of them (else None).
        uses: What the column can serve as: ``strata``, ``weight``, ``order_by``, ``filter``.
    """

    name: str
    type: str
    kind: str
    nullable: bool
    nulls: int
    distinct: int | None
    values: tuple | None
    uses: tuple[str, ...]


def _uses(dtype: pa.DataType, kind: str) -> tuple[str, ...]:
    plain = not (pa.types.is_nested(dtype) or pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype))
    uses = ["strata", "order_by"] if plain else []
    if kind == "number":
        uses.append("weight")
    uses.append("filter")
    return tuple(uses)


def _value(v: object) -> object:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    return str(v)


def sample_columns(store: Store, dataset: str, revision: str | None = None, table: str | None = None,
                   max_distinct: int = MAX_DISTINCT_VALUES) -> list[SampleColumn]:
    """The columns of a table with type, nullability, distinct count and (few) distinct values.

    Args:
        store: The version store.
        dataset: The dataset.
        revision: The revision (default: the default branch).
        table: The table (default: the commit's only table).
        max_distinct: List the values of columns with at most this many distinct values.

    Returns:
        One :class:`SampleColumn` per column, in table order.

    Raises:
        DatasetNotFound, RevisionNotFound, TableNotFound.
    """
    info = store.table_info(dataset, revision, table)
    data = store.read_table(dataset, revision, info.name).table
    con = duckdb_connect()
    try:
        con.register("t", data)
        countable = [f for f in info.schema if not pa.types.is_nested(f.type)]
        exprs = [f"count(*) - count({quote_identifier(f.name)}), count(DISTINCT {quote_identifier(f.name)})"
                 for f in countable]
        row = con.execute(f"SELECT {', '.join(exprs)} FROM t").fetchone() if exprs else ()
        counts = {f.name: (int(row[2 * i]), int(row[2 * i + 1])) for i, f in enumerate(countable)}
        out = []
        for f in info.schema:
            kind = column_kind(f.type)
            nulls, distinct = counts.get(f.name, (data.column(f.name).null_count, None))
            values = None
            if distinct is not None and distinct <= max_distinct:
                col = quote_identifier(f.name)
                values = tuple(_value(v[0]) for v in con.execute(
                    f"SELECT DISTINCT {col} FROM t WHERE {col} IS NOT NULL ORDER BY {col}").fetchall())
            out.append(SampleColumn(f.name, str(f.type), kind, nulls > 0, nulls, distinct, values,
                                    _uses(f.type, kind)))
        return out
    finally:
        con.close()
