"""Diff of two tables, manifest first: only rows outside the shared stretches are read.

1. The manifests are matched range-wise (:mod:`.manifest_match`): stretches both reference
   are unchanged and never read, wherever they moved.
2. The other rows are read with their 96-bit row keys. Rows of equal hash pair up as a
   multiset (the i-th copy in base with the i-th in target): unchanged, moved.
3. What is left pairs by key when there is one (an update is one ``~`` row). Without a
   key, a removed and an added row pair when they sit between the same unchanged
   neighbours at the same rank (an in-place edit of a keyless table); ``pair=None``
   keeps the pure multiset diff.
4. Paired rows are compared cell by cell (Arrow compute) on the union of both sides'
   columns; a column one side lacks counts as null there.

Cost follows the change: a one-row change of a million-row table reads a few rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .diff_models import SchemaDiff
from .errors import InvalidInput
from .hashing import KEY_COLUMNS, logical_schema
from .manifest import Manifest
from .manifest_match import Matching, match_manifests
from .models import TableInfo
from .rows import read_manifest
from .table_keys import check_key_columns, check_unique

if TYPE_CHECKING:
    from .repository import Store

ROW = "__row"
PAIRINGS = ("position", None)


@dataclass(frozen=True)
class Side:
    """One table of one commit as a diff sees it (an absent table is an empty side)."""

    name: str
    manifest: Manifest
    schema: pa.Schema
    info: TableInfo | None = None

    @classmethod
    def of(cls, store: Store, info: TableInfo | None, name: str, schema: pa.Schema) -> Side:
        """The side for a table of a commit (``info=None``: the table is absent)."""
        if info is None:
            return cls(name, Manifest.empty(), schema, None)
        return cls(name, store.manifests.get(info.manifest_id), info.schema, info)

    @property
    def row_count(self) -> int:
        """Number of rows."""
        return self.manifest.row_count


@dataclass(frozen=True)
class TableChanges:
    """The row-level change of one table from side ``a`` (base) to side ``b`` (target).

    ``a``/``b`` hold the rows outside every unchanged stretch (with ``__row`` = logical
    row id and the row keys), ``pair_a``/``pair_b`` index the changed pairs in them,
    ``removed``/``added`` the unpaired rows, ``changed`` says per column which pairs differ.
    """

    a_side: Side
    b_side: Side
    key: tuple[str, ...] | None
    matching: Matching
    a: pa.Table
    b: pa.Table
    pair_a: np.ndarray
    pair_b: np.ndarray
    changed: dict[str, np.ndarray]
    removed: np.ndarray
    added: np.ndarray
    rows_read: int

    @property
    def unchanged(self) -> int:
        """Rows in both sides, unchanged."""
        return self.b_side.row_count - len(self.added) - len(self.pair_b)


def read_rows(store: Store, side: Side, rows: np.ndarray) -> pa.Table:
    """Rows of a side by logical row id, with their row keys and ``__row``."""
    rows = np.asarray(rows, np.int64)
    table = read_manifest(store.objects, side.manifest.select(rows) if len(rows) else Manifest.empty(),
                          side.schema, with_keys=True)
    return table.append_column(ROW, pa.array(rows, pa.int64()))


def pair_equal(a: pa.Table, b: pa.Table, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pair rows of equal ``columns``: the i-th occurrence in ``a`` with the i-th in ``b`` (row order).

    Returns:
        (indices into ``a``, indices into ``b``) of the pairs, ordered by the ``a`` index.
    """
    if not a.num_rows or not b.num_rows:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left = _ranked(a, columns, "__ia")
    right = _ranked(b, columns, "__ib")
    for name in columns:
        if left.schema.field(name).type != right.schema.field(name).type:
            right = right.set_column(right.schema.get_field_index(name), name,
                                     right.column(name).cast(left.schema.field(name).type))
    joined = left.join(right, keys=[*columns, "__rank"], join_type="inner", use_threads=False)
    ia = joined.column("__ia").to_numpy()
    ib = joined.column("__ib").to_numpy()
    order = np.argsort(ia, kind="stable")
    return ia[order].astype(np.int64), ib[order].astype(np.int64)


def _ranked(table: pa.Table, columns: list[str], index: str) -> pa.Table:
    n = table.num_rows
    t = table.select(columns).append_column(index, pa.array(np.arange(n, dtype=np.int64)))
    order = pc.sort_indices(t, sort_keys=[(c, "ascending") for c in columns] + [(index, "ascending")]).to_numpy()
    head = np.ones(n, bool)
    if n > 1:
        sorted_t = t.take(pa.array(order))
        same = np.ones(n - 1, bool)
        for c in columns:
            col = sorted_t.column(c)
            eq = pc.equal(col.slice(1), col.slice(0, n - 1))
            both_null = pc.and_(col.slice(1).is_null(), col.slice(0, n - 1).is_null())
            same &= pc.or_(pc.fill_null(eq, False), both_null).to_numpy(zero_copy_only=False)
        head[1:] = ~same
    first = np.maximum.accumulate(np.where(head, np.arange(n), 0))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - first
    return t.append_column("__rank", pa.array(rank))


def distinct(x: pa.ChunkedArray | None, y: pa.ChunkedArray | None, n: int) -> np.ndarray:
    """Per row, whether two cells differ (null equals null, NaN equals NaN; a missing column is null)."""
    if x is None and y is None:
        return np.zeros(n, bool)
    if x is None or y is None:
        return (y if x is None else x).is_valid().to_numpy(zero_copy_only=False)
    if logical_schema(pa.schema([pa.field("c", x.type)])) != logical_schema(pa.schema([pa.field("c", y.type)])):
        x, y = x.cast(pa.string()), y.cast(pa.string())
    elif x.type != y.type:
        y = y.cast(x.type)
    same = pc.fill_null(pc.equal(x, y), False)
    same = pc.or_(same, pc.and_(x.is_null(), y.is_null()))
    if pa.types.is_floating(x.type):
        same = pc.or_(same, pc.fill_null(pc.and_(pc.is_nan(x), pc.is_nan(y)), False))
    return ~same.to_numpy(zero_copy_only=False)


def union_columns(a: pa.Schema, b: pa.Schema) -> list[str]:
    """Columns of either side: the target's in its order, then the base's others."""
    return list(b.names) + [n for n in a.names if n not in b.names]


def _column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    return table.column(name) if name in table.column_names else None


def table_changes(store: Store, a_side: Side, b_side: Side, key: tuple[str, ...] | None,
                  pair: str | None = "position", check_key: bool = True) -> TableChanges:
    """The row-level change from ``a_side`` to ``b_side``.

    Args:
        key: Columns pairing rows (None: keyless).
        pair: ``"position"`` pairs keyless in-place edits; None keeps the multiset diff.
        check_key: Check that ``key`` is unique and non-null in both full tables (reads the
            key columns); without it only the rows read are checked (a declared key is
            checked at every commit).

    Raises:
        InvalidInput: a key column is missing on one side; KeyViolation: a null or duplicate key.
    """
    if pair not in PAIRINGS:
        raise InvalidInput(f"pair must be 'position' or None, not {pair!r}", pair=pair)
    name = b_side.name
    if key is not None:
        if a_side.info is not None:
            check_key_columns(key, a_side.schema, name, "the base")
        if b_side.info is not None:
            check_key_columns(key, b_side.schema, name, "the target")
        if check_key:
            for side in (a_side, b_side):
                if side.info is not None:
                    full = read_manifest(store.objects, side.manifest, side.schema, list(key))
                    check_unique(full, key, name)
    matching = match_manifests(a_side.manifest, b_side.manifest)
    rows_read = len(matching.a_rows) + len(matching.b_rows)
    a = read_rows(store, a_side, matching.a_rows)
    b = read_rows(store, b_side, matching.b_rows)
    if logical_schema(a_side.schema) == logical_schema(b_side.schema):
        ia, ib = pair_equal(a, b, list(KEY_COLUMNS))
        if len(ia):
            matching = matching.with_pairs(a.column(ROW).to_numpy()[ia], b.column(ROW).to_numpy()[ib])
            a, b = _drop(a, ia), _drop(b, ib)
    if key is not None:
        check_unique(a, key, name, a.column(ROW).to_numpy())
        check_unique(b, key, name, b.column(ROW).to_numpy())
        pa_, pb_ = pair_equal(a, b, list(key))
    elif pair == "position" and len(a) and len(b):
        a_prev, a_next, b_prev, b_next = matching.gaps()
        pa_, pb_ = pair_equal(pa.table({"p": a_prev, "n": a_next}), pa.table({"p": b_prev, "n": b_next}), ["p", "n"])
    else:
        pa_, pb_ = np.empty(0, np.int64), np.empty(0, np.int64)
    columns = union_columns(a_side.schema, b_side.schema)
    ta, tb = a.take(pa.array(pa_)), b.take(pa.array(pb_))
    changed = {c: distinct(_column(ta, c), _column(tb, c), len(pa_)) for c in columns}
    any_change = np.zeros(len(pa_), bool)
    for mask in changed.values():
        any_change |= mask
    if not any_change.all():  # paired rows equal on every column (a column only one side had was all null)
        same_a, same_b = pa_[~any_change], pb_[~any_change]
        matching = matching.with_pairs(a.column(ROW).to_numpy()[same_a], b.column(ROW).to_numpy()[same_b])
        keep_a, keep_b = _keep(len(a), same_a), _keep(len(b), same_b)
        remap_a, remap_b = np.cumsum(keep_a) - 1, np.cumsum(keep_b) - 1
        a, b = a.filter(pa.array(keep_a)), b.filter(pa.array(keep_b))
        pa_, pb_ = remap_a[pa_[any_change]], remap_b[pb_[any_change]]
        changed = {c: m[any_change] for c, m in changed.items()}
    removed = np.setdiff1d(np.arange(len(a)), pa_)
    added = np.setdiff1d(np.arange(len(b)), pb_)
    return TableChanges(a_side, b_side, key, matching, a, b, pa_, pb_, changed, removed, added, rows_read)


def _keep(n: int, drop: np.ndarray) -> np.ndarray:
    keep = np.ones(n, bool)
    keep[drop] = False
    return keep


def _drop(table: pa.Table, rows: np.ndarray) -> pa.Table:
    return table.filter(pa.array(_keep(table.num_rows, rows)))


def schema_diff(a: pa.Schema | None, b: pa.Schema | None) -> SchemaDiff:
    """Columns added, removed, retyped (logical type) and reordered between two schemas."""
    la = dict(logical_schema(a)) if a is not None else {}
    lb = dict(logical_schema(b)) if b is not None else {}
    if a is None or b is None:
        return SchemaDiff()
    added = tuple((n, lb[n]) for n in b.names if n not in la)
    removed = tuple((n, la[n]) for n in a.names if n not in lb)
    retyped = tuple((n, la[n], lb[n]) for n in b.names if n in la and la[n] != lb[n])
    common_a = [n for n in a.names if n in lb]
    common_b = [n for n in b.names if n in la]
    stay = _longest_common_subsequence(common_a, common_b)
    reordered = tuple(n for n in common_b if n not in stay)
    return SchemaDiff(added, removed, retyped, reordered)


def _longest_common_subsequence(a: list[str], b: list[str]) -> set[str]:
    """Columns that keep their relative order (the others "moved"); O(columns²)."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
    out, i, j = set(), 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            out.add(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out
