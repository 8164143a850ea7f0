"""Cell-level three-way merge of paired rows, per-column strategies and the conflicts table.

For each column of rows paired by key: a cell changed on one side only takes that
side's value; changed identically on both is not a conflict; changed differently on
both is a conflict, settled by the column's strategy (``ours``, ``theirs``, ``max``,
``min``) or, with ``fail``, by a resolution passed back, else reported.

Conflicts are an Arrow table with string columns ``table, key, column, base, ours,
theirs, kind`` (values as text, null as null). Pass it back with a ``resolved`` column:
a cell's value as text, or ``<ours>``, ``<theirs>``, ``<null>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .diff import distinct
from .errors import InvalidInput

STRATEGIES = ("ours", "theirs", "fail", "max", "min")
ROW_STRATEGIES = ("ours", "theirs", "fail")
CONFLICT_COLUMNS = ("table", "key", "column", "base", "ours", "theirs", "kind")
OURS, THEIRS, NULL = "<ours>", "<theirs>", "<null>"

Resolutions = Mapping[tuple[str, str, str | None, str], str]


def conflicts_table(parts: Sequence[pa.Table]) -> pa.Table:
    """Concatenate conflict tables (an empty one when there are none)."""
    schema = pa.schema([pa.field(c, pa.string()) for c in CONFLICT_COLUMNS])
    return pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()


def conflict_rows(table: str, keys: pa.Array, column: str | None, base: pa.Array | None, ours: pa.Array | None,
                  theirs: pa.Array | None, kind: str) -> pa.Table:
    """A block of conflicts of one kind (one per element of ``keys``)."""
    n = len(keys)

    def text(values: pa.Array | None) -> pa.Array:
        return pa.nulls(n, pa.string()) if values is None else _text(values)

    return pa.table({"table": pa.array([table] * n, pa.string()), "key": keys,
                     "column": pa.array([column] * n, pa.string()), "base": text(base), "ours": text(ours),
                     "theirs": text(theirs), "kind": pa.array([kind] * n, pa.string())})


def _text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    return values.cast(pa.string())


def key_text(rows: pa.Table, key: Sequence[str]) -> pa.Array:
    """Each row's key values as one text (``a, b`` for a composite key)."""
    parts = [_text(pc.fill_null(rows.column(c).cast(pa.string()), "null")) for c in key]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, ", ")


def check_strategies(strategies: Mapping[str, str] | None, default: str, rows: str | None,
                     columns: set[str]) -> tuple[dict[str, str], str, str]:
    """Validate the per-column strategies; return them, the default and the row strategy.

    Raises:
        InvalidInput: an unknown strategy name, or a strategy for a column no table has.
    """
    strategies = dict(strategies or {})
    for column, name in [*strategies.items(), ("(default)", default)]:
        if name not in STRATEGIES:
            raise InvalidInput(f"unknown merge strategy {name!r} for column {column!r}; use one of "
                               f"{', '.join(STRATEGIES)}", strategy=name, column=column)
    unknown = sorted(set(strategies) - columns)
    if unknown:
        raise InvalidInput(f"strategy for column {unknown[0]!r}, which no merged table has "
                           f"(columns: {', '.join(sorted(columns))})", column=unknown[0])
    rows = rows if rows is not None else (default if default in ROW_STRATEGIES else "fail")
    if rows not in ROW_STRATEGIES:
        raise InvalidInput(f"row strategy {rows!r} is not one of {', '.join(ROW_STRATEGIES)}", strategy=rows)
    return strategies, default, rows


def merge_cells(table: str, keys: pa.Array, schema: pa.Schema, base: pa.Table | None, ours: pa.Table,
                theirs: pa.Table, strategies: Mapping[str, str], default: str, resolutions: Resolutions,
                kind: str, lacking: tuple[set[str], set[str]] = (set(), set()),
                ) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """Merge paired rows cell by cell.

    Args:
        table: Table name (for conflicts and resolutions).
        keys: Each row's key text.
        schema: The result schema; ``base``/``ours``/``theirs`` are conformed to it.
        base: The base rows (None: both sides added these keys).
        ours, theirs: The two sides' rows.
        strategies, default: Per-column strategies and the one for other columns.
        resolutions: {(table, key, column, kind): resolved text}.
        kind: ``cell`` or ``add_add``.
        lacking: Columns ours / theirs do not have: that side's cells count as unchanged.

    Returns:
        (merged rows, unresolved conflicts, per row whether the result differs from ours).
    """
    n = ours.num_rows
    keys_py = keys.to_pylist() if n else []
    merged, conflicts = [], []
    differs = np.zeros(n, bool)
    for field in schema:
        c = field.name
        o, t = ours.column(c), theirs.column(c)
        b = base.column(c) if base is not None else None
        bo = distinct(b, o, n) if base is not None else np.ones(n, bool)
        bt = distinct(b, t, n) if base is not None else np.ones(n, bool)
        if c in lacking[0]:
            bo[:] = False
        if c in lacking[1]:
            bt[:] = False
        ot = distinct(o, t, n)
        pick_theirs = bt & ~bo & ot
        conflict = bt & bo & ot
        strategy = strategies.get(c, default)
        value = pc.if_else(pa.array(pick_theirs), t, o)
        if conflict.any() and strategy == "theirs":
            value = pc.if_else(pa.array(pick_theirs | conflict), t, o)
            pick_theirs |= conflict
            conflict[:] = False
        elif conflict.any() and strategy in ("max", "min"):
            fn = pc.max_element_wise if strategy == "max" else pc.min_element_wise
            try:
                best = fn(o, t)
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as e:
                raise InvalidInput(f"strategy {strategy!r} cannot compare column {c!r} of type {field.type}",
                                   column=c, strategy=strategy) from e
            value = pc.if_else(pa.array(conflict), best, value)
            differs |= conflict & distinct(best, o, n)
            conflict[:] = False
        elif conflict.any() and strategy == "ours":
            conflict[:] = False
        if conflict.any():
            value, conflict, changed = _resolve(table, keys_py, c, field.type, kind, conflict, o, t, value,
                                                resolutions)
            differs |= changed
        differs |= pick_theirs
        merged.append(value)
        idx = np.flatnonzero(conflict)
        if len(idx):
            take = pa.array(idx)
            conflicts.append(conflict_rows(table, keys.take(take), c, b.take(take) if b is not None else None,
                                           o.take(take), t.take(take), kind))
    return pa.Table.from_arrays(merged, schema=schema), conflicts_table(conflicts), differs


def _resolve(table: str, keys: list, column: str, type_: pa.DataType, kind: str, conflict: np.ndarray,
             ours: pa.ChunkedArray, theirs: pa.ChunkedArray, value: pa.ChunkedArray,
             resolutions: Resolutions) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
    """Apply passed-back resolutions to conflicting cells (one look-up per conflict)."""
    n = len(conflict)
    texts: list[str | None] = [None] * n
    use_theirs = np.zeros(n, bool)
    use_text = np.zeros(n, bool)
    remaining = conflict.copy()
    for i in np.flatnonzero(conflict):
        r = resolutions.get((table, keys[i], column, kind))
        if r is None:
            continue
        remaining[i] = False
        if r == THEIRS:
            use_theirs[i] = True
        elif r != OURS:
            use_text[i] = True
            texts[i] = None if r == NULL else r
    if not (use_theirs.any() or use_text.any()):
        return value, remaining, np.zeros(n, bool)
    value = pc.if_else(pa.array(use_theirs), theirs, value)
    if use_text.any():
        try:
            given = pa.array(texts, pa.string()).cast(type_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise InvalidInput(f"a resolution for column {column!r} cannot be read as {type_}: {e}",
                               column=column) from e
        value = pc.if_else(pa.array(use_text), given, value)
    return value, remaining, use_theirs | use_text
