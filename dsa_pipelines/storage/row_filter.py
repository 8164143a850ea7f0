"""Row filters for exports: ``where="amount > 100 AND country = 'FR'"``, evaluated by DuckDB.

A filter is a SQL *expression* over the table's columns, never a statement. Before any
row is read it is checked, in three layers:

1. **Parsed, not executed**: DuckDB's parser (``json_serialize_sql``, the text passed as a
   bind parameter) turns ``SELECT 1 FROM t WHERE <filter>`` into a syntax tree; it must be
   exactly one plain ``SELECT`` over ``t`` whose only clause is the filter — a second
   statement, a ``UNION``, an ``ORDER BY``/``LIMIT``, a CTE, a subquery, a window or a table
   function anywhere is refused, and every column it names must be a column of the table.
2. **Bound on an empty table**: type errors (``amount > 'x'``) surface before a file exists.
3. **Evaluated on a locked connection**: file system access disabled, configuration locked,
   so even a function we did not think of cannot read or write files.

Bad filters raise :class:`~.errors.InvalidInput` naming the filter and the problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from .engine import connect
from .errors import InvalidInput

_FORBIDDEN_CLASSES = {"SUBQUERY", "WINDOW", "TABLE_FUNCTION", "STAR", "LAMBDA", "POSITIONAL_REFERENCE",
                      "PARAMETER"}


@dataclass(frozen=True)
class RowFilter:
    """A checked filter expression and the columns it reads."""

    expression: str
    columns: tuple[str, ...]


def _refuse(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"cannot filter rows with {where!r}: {problem}", where=where)


def _walk(node: object) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _tree(con: duckdb.DuckDBPyConnection, where: str) -> dict:
    text = con.execute("SELECT json_serialize_sql(?)", [f"SELECT 1 FROM t WHERE {where}"]).fetchone()[0]
    tree = json.loads(text)
    if tree.get("error"):
        raise _refuse(where, tree.get("error_message") or "not a valid SQL expression")
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise _refuse(where, "it must be one expression, not several statements")
    return statements[0]["node"]


def parse_filter(where: str, schema: pa.Schema) -> RowFilter:
    """Check a filter expression against a table's schema (nothing is read or executed).

    Raises:
        InvalidInput: not one plain expression over the table's columns.
    """
    if not isinstance(where, str) or not where.strip():
        raise InvalidInput("a row filter must be a non-empty SQL expression, e.g. \"amount > 100\"", where=where)
    with locked_connection() as con:
        node = _tree(con, where)
    plain = (node.get("type") == "SELECT_NODE" and not node.get("modifiers") and not node.get("group_expressions")
             and not node.get("having") and not node.get("qualify") and not node.get("sample")
             and not (node.get("cte_map") or {}).get("map")
             and (node.get("from_table") or {}).get("type") == "BASE_TABLE"
             and (node.get("from_table") or {}).get("table_name") == "t"
             and (node.get("aggregate_handling") in (None, "STANDARD_HANDLING")))
    if not plain:
        raise _refuse(where, "it must be a plain condition on the row (no ORDER BY, LIMIT, GROUP BY, UNION, "
                             "or another statement)")
    names = set(schema.names)
    used: list[str] = []
    for item in _walk(node["where_clause"]):
        kind = item.get("class")
        if kind in _FORBIDDEN_CLASSES or item.get("type") in {"SUBQUERY", "WINDOW_AGGREGATE"}:
            raise _refuse(where, f"{str(kind).lower().replace('_', ' ')} expressions are not allowed")
        if kind == "COLUMN_REF":
            column = item["column_names"][-1]
            if len(item["column_names"]) > 2 or column not in names:
                raise _refuse(where, f"no column {column!r} (columns: {', '.join(schema.names)})")
            used.append(column)
    row_filter = RowFilter(where, tuple(dict.fromkeys(used)))
    _bind(row_filter, schema)
    return row_filter


def locked_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory connection that cannot touch the file system or change its own settings."""
    con = connect()
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _bind(row_filter: RowFilter, schema: pa.Schema) -> None:
    with locked_connection() as con:
        try:
            con.from_arrow(schema.empty_table()).filter(row_filter.expression).arrow().read_all()
        except duckdb.Error as e:
            raise _refuse(row_filter.expression, str(e).splitlines()[0]) from e


def filter_batches(batches: Iterable[pa.Table], row_filter: RowFilter) -> Iterator[pa.Table]:
    """Only the rows of each batch for which the filter is true (a null counts as false)."""
    with locked_connection() as con:
        for batch in batches:
            try:
                kept = con.from_arrow(batch).filter(row_filter.expression).arrow().read_all()
            except duckdb.Error as e:
                raise _refuse(row_filter.expression, str(e).splitlines()[0]) from e
            yield kept.cast(batch.schema)
