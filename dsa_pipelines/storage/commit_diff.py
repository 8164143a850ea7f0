"""Diff of two commits of a dataset: every table of either, each diffed by :mod:`.diff`.

The key of each table is the one given (``key=[...]`` or ``{table: [...]}``; ``[]`` forces
keyless), else the declared key, else none. Unchanged tables (same content id) cost
nothing; a table only one commit has is counted from its catalog entry and its rows are
read page by page when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .catalog.keys_schema import declared_keys
from .diff import (
    Side,
    TableChanges,
    read_rows,
    schema_diff,
    table_changes,
    union_columns,
)
from .diff_models import Diff, SchemaDiff, TableDiff
from .diff_rows import changes_table, whole_table
from .errors import TableNotFound
from .manifest_match import Matching
from .models import TableInfo

if TYPE_CHECKING:
    from .repository import Store


def table_diff(store: Store, a_info: TableInfo | None, b_info: TableInfo | None, name: str,
               key: tuple[str, ...] | None, pair: str | None, check_key: bool) -> TableDiff:
    """The diff of one table between two commits (either may lack it)."""
    schema = (b_info or a_info).schema
    a_side = Side.of(store, a_info, name, schema)
    b_side = Side.of(store, b_info, name, schema)
    if a_info is not None and b_info is not None and a_info.content_id == b_info.content_id:
        return TableDiff(name, "unchanged", 0, 0, 0, b_info.row_count, SchemaDiff(), key, 0,
                         changes_table(_no_changes(store, a_side, b_side, key)))
    if a_info is None or b_info is None:  # a whole table added or removed: counts without reading rows
        info, change = (b_info, "+") if a_info is None else (a_info, "-")
        n = info.row_count
        schema_only = changes_table(_no_changes(store, a_side, b_side, key))
        return TableDiff(name, "added" if change == "+" else "removed", n if change == "+" else 0,
                         n if change == "-" else 0, 0, 0, SchemaDiff(), key, 0, None,
                         lambda offset, limit: whole_table(store, info, change, offset, limit, schema_only.schema))
    ch = table_changes(store, a_side, b_side, key, pair, check_key)
    status = "modified"
    sdiff = schema_diff(a_info.schema if a_info else None, b_info.schema if b_info else None)
    if status == "modified" and not (len(ch.removed) or len(ch.added) or len(ch.pair_a) or sdiff.changed):
        status = "unchanged"
    return TableDiff(name, status, len(ch.added), len(ch.removed), len(ch.pair_a), ch.unchanged, sdiff, key,
                     ch.rows_read, changes_table(ch))


def _no_changes(store: Store, a_side: Side, b_side: Side, key: tuple[str, ...] | None) -> TableChanges:
    none = np.empty(0, np.int64)
    return TableChanges(a_side, b_side, key, Matching(none, none, none, none, none),
                        read_rows(store, a_side, none), read_rows(store, b_side, none), none, none,
                        {c: np.zeros(0, bool) for c in union_columns(a_side.schema, b_side.schema)}, none, none, 0)


def resolve_key(key: Sequence[str] | Mapping[str, Sequence[str]] | None, table: str,
                declared: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, ...] | None, bool]:
    """The key for one table and whether it needs a full uniqueness check.

    ``key`` given (for this table, when a mapping) wins, ``[]`` meaning keyless; else the
    declared key (checked at every commit, so not again), else keyless.
    """
    if isinstance(key, Mapping):
        key = key.get(table)
    elif isinstance(key, str):
        key = [key]
    if key is not None:
        given = tuple(key)
        if not given:
            return None, False
        return given, given != declared.get(table)
    return declared.get(table), False


def diff(store: Store, dataset: str, base: str, target: str | None = None, *, table: str | None = None,
         key: Sequence[str] | Mapping[str, Sequence[str]] | None = None, pair: str | None = "position") -> Diff:
    """The diff of two commits of a dataset (see :meth:`Store.diff`)."""
    base_commit = store.get_commit(dataset, base)
    target_commit = store.get_commit(dataset, target)
    names = sorted(set(base_commit.tables) | set(target_commit.tables))
    if table is not None:
        if table not in names:
            raise TableNotFound(f"neither {base_commit.short_id} nor {target_commit.short_id} of {dataset!r} "
                                f"has a table {table!r} (tables: {', '.join(names) or 'none'})",
                                kind="table", name=table)
        names = [table]
    with store.catalog.read() as conn:
        declared = declared_keys(conn, dataset)
    tables = {}
    for name in names:
        k, check = resolve_key(key, name, declared)
        tables[name] = table_diff(store, base_commit.tables.get(name), target_commit.tables.get(name), name, k,
                                  pair, check)
    return Diff(dataset, base_commit.id, target_commit.id, tables)
