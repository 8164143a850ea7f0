"""Three-way merge of one table: the changes base→theirs applied onto ours.

Both sides are diffed against the base (:func:`.diff.table_changes`), then theirs'
changes become edits of ours (:class:`.table_writes.TableEdit`), so the result keeps
ours' row order and stored ranges and costs O(changes):

- with a key: rows removed/changed/added by theirs are applied; a row both changed
  merges cell by cell (:mod:`.merge_cells`); changed vs deleted is a row conflict (the
  ``rows`` strategy or a resolution settles it); the same key added twice with different
  cells gives cell conflicts (kind ``add_add``);
- without a key: a multiset merge. Per row hash, each side's change of its count
  against the base; where only theirs changed it, theirs' change is applied; where both
  changed it by the same amount, once; by different amounts, a ``count`` conflict.

Columns: one side's added column is added; a column removed on one side is removed
unless the other side changed its values (a ``schema`` conflict); a retype on one side
is taken, different retypes on both sides conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .diff import ROW, Side, TableChanges, pair_equal, table_changes
from .errors import InvalidInput
from .hashing import KEY_COLUMNS, logical_schema
from .ingest import IngestedTable
from .merge_cells import (
    NULL,
    OURS,
    THEIRS,
    Resolutions,
    conflict_rows,
    conflicts_table,
    key_text,
    merge_cells,
)
from .models import TableInfo
from .table_writes import TableEdit, as_ingested, conform, write_table

if TYPE_CHECKING:
    from .repository import Store


@dataclass(frozen=True)
class Settings:
    """How conflicts are settled: per-column strategies, the default, the row strategy, resolutions."""

    strategies: Mapping[str, str]
    default: str
    rows: str
    resolutions: Resolutions = field(default_factory=dict)

    def row_choice(self, table: str, keys: list, kind: str) -> np.ndarray:
        """Per row conflict: 1 = theirs, 0 = ours, -1 = unresolved."""
        base = {"ours": 0, "theirs": 1, "fail": -1}[self.rows]
        out = np.full(len(keys), base, np.int64)
        for i, k in enumerate(keys):  # one look-up per conflict
            r = self.resolutions.get((table, k, None, kind))
            if r is not None:
                out[i] = 1 if r == THEIRS else 0
        return out


@dataclass(frozen=True)
class TableOutcome:
    """The merged table (None: removed), or the edit still to write, and the conflicts left."""

    table: IngestedTable | None
    conflicts: pa.Table
    changed: bool
    pending: tuple[Side, pa.Schema, TableEdit] | None = None

    def written(self, store: Store) -> IngestedTable | None:
        """The result table, writing the pending edit (call only once no table has conflicts)."""
        if self.pending is None:
            return self.table
        return write_table(store, *self.pending)


def _lt(schema: pa.Schema) -> dict[str, str]:
    return dict(logical_schema(schema))


def merge_schema(name: str, base: pa.Schema, ours: pa.Schema, theirs: pa.Schema, co: TableChanges,
                 ct: TableChanges, settings: Settings) -> tuple[pa.Schema, list[pa.Table]]:
    """The result columns and any schema conflicts (rules in the module docstring)."""
    lb, lo, lt = _lt(base), _lt(ours), _lt(theirs)
    fields, conflicts = [], []

    def conflict(column: str, b: str | None, o: str | None, t: str | None) -> bool:
        r = settings.resolutions.get((name, "", column, "schema"))
        if r is None and settings.rows != "fail":
            r = OURS if settings.rows == "ours" else THEIRS
        if r is None:
            conflicts.append(conflict_rows(name, pa.array([""]), column, pa.array([b], pa.string()),
                                           pa.array([o], pa.string()), pa.array([t], pa.string()), "schema"))
            return False
        return r == THEIRS

    for f in ours:
        c = f.name
        if c in lb and c not in lt:  # removed by theirs
            if co.changed.get(c, np.zeros(0, bool)).any() and not conflict(c, lb[c], lo[c], None):
                fields.append(f)
            continue
        if c in lt and lt[c] != lo[c]:
            retyped_by_theirs_only = lo[c] == lb.get(c)
            if retyped_by_theirs_only or (lt[c] != lb.get(c) and conflict(c, lb.get(c), lo[c], lt[c])):
                fields.append(theirs.field(c))
            else:
                fields.append(f)
            continue
        fields.append(f)
    for f in theirs:
        c = f.name
        if c in lo:
            continue
        if c not in lb:
            fields.append(f)  # added by theirs
        elif ct.changed.get(c, np.zeros(0, bool)).any() and conflict(c, lb[c], None, lt[c]):
            fields.append(f)  # removed by ours, changed by theirs, resolved for theirs
    return pa.schema(fields), conflicts


def merge_table(store: Store, name: str, base: TableInfo | None, ours: TableInfo | None, theirs: TableInfo | None,
                key: tuple[str, ...] | None, settings: Settings) -> TableOutcome:
    """Three-way merge of one table (any side may lack it); nothing is written until ``written``."""
    none = conflicts_table([])
    cid = {k: (v.content_id if v else None) for k, v in (("b", base), ("o", ours), ("t", theirs))}
    if cid["o"] == cid["t"] or cid["t"] == cid["b"]:
        return TableOutcome(as_ingested(ours) if ours else None, none, False)
    if cid["o"] == cid["b"]:
        return TableOutcome(as_ingested(theirs) if theirs else None, none, True)
    if ours is None or theirs is None:  # one side deleted the table, the other changed it
        choice = settings.row_choice(name, [""], "table")[0]
        if choice < 0:
            return TableOutcome(None, conflicts_table([conflict_rows(
                name, pa.array([""]), None, pa.array(["present"]), pa.array(["deleted" if ours is None else "changed"]),
                pa.array(["deleted" if theirs is None else "changed"]), "table")]), False)
        pick = theirs if choice == 1 else ours
        return TableOutcome(as_ingested(pick) if pick else None, none, choice == 1)
    schema = ours.schema
    b_side = Side.of(store, base, name, schema)
    o_side, t_side = Side.of(store, ours, name, schema), Side.of(store, theirs, name, schema)
    if key is not None:
        return _merge_keyed(store, name, b_side, o_side, t_side, key, settings)
    return _merge_keyless(store, name, b_side, o_side, t_side, settings)


def _a_before_b(m, b_rows: np.ndarray) -> np.ndarray:
    """For target rows in no item, the base row just before them (last row of the previous item), or -1."""
    order = np.argsort(m.b_start, kind="stable")
    starts = m.b_start[order]
    i = np.searchsorted(starts, b_rows, side="right") - 1
    ic = np.where(i >= 0, i, 0)
    if not len(starts):
        return np.full(len(b_rows), -1, np.int64)
    item = order[ic]
    return np.where(i >= 0, m.a_start[item] + m.length[item] - 1, -1)


def _insert_points(co: TableChanges, ct: TableChanges, theirs_rows: np.ndarray) -> np.ndarray:
    """Where theirs' added rows go in ours: after the ours row their base neighbour became."""
    anchor = _a_before_b(ct.matching, theirs_rows)
    after = co.matching.insert_after_a(np.maximum(anchor, 0))
    return np.where(anchor >= 0, after, -1)


def _rows(ch: TableChanges, side: str, idx: np.ndarray) -> np.ndarray:
    t = ch.a if side == "a" else ch.b
    return t.column(ROW).to_numpy()[idx] if len(idx) else np.empty(0, np.int64)


def _edit(schema: pa.Schema, remove: list, replace: list, insert: list) -> TableEdit:
    def cat(parts: list, i: int) -> np.ndarray:
        arrays = [p[i] for p in parts]
        return np.concatenate(arrays).astype(np.int64) if arrays else np.empty(0, np.int64)

    def rows(parts: list) -> pa.Table:
        tables = [conform(p[1], schema, "merge") for p in parts]
        return pa.concat_tables(tables) if tables else schema.empty_table()

    return TableEdit(cat([(r,) for r in remove], 0), cat(replace, 0), rows(replace), cat(insert, 0), rows(insert))


def _merge_keyed(store: Store, name: str, b: Side, o: Side, t: Side, key: tuple[str, ...],
                 settings: Settings) -> TableOutcome:
    co = table_changes(store, b, o, key, check_key=False)
    ct = table_changes(store, b, t, key, check_key=False)
    schema, conflicts = merge_schema(name, b.schema, o.schema, t.schema, co, ct, settings)
    remove, replace, insert = [], [], []
    # ours' changes, as one table of keys: kind 1 changed (ours row), 2 removed (base row), 3 added (ours row)
    o_keys = pa.concat_tables([co.b.take(pa.array(co.pair_b)).select(list(key)),
                               co.a.take(pa.array(co.removed)).select(list(key)),
                               co.b.take(pa.array(co.added)).select(list(key))]) \
        if co.a.num_rows or co.b.num_rows else None
    o_kind = np.concatenate([np.full(len(co.pair_b), 1), np.full(len(co.removed), 2), np.full(len(co.added), 3)])
    o_idx = np.concatenate([co.pair_b, co.removed, co.added]).astype(np.int64)

    def ours_status(keys: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        kind = np.zeros(keys.num_rows, np.int64)
        idx = np.full(keys.num_rows, -1, np.int64)
        if o_keys is not None and keys.num_rows:
            it, io = pair_equal(keys, o_keys, list(key))
            kind[it], idx[it] = o_kind[io], o_idx[io]
        return kind, idx

    def aligned(table: pa.Table, idx: np.ndarray) -> pa.Table:
        return conform(table.take(pa.array(idx, pa.int64())), schema, name)

    lacking = (set(schema.names) - set(o.schema.names), set(schema.names) - set(t.schema.names))

    def theirs_rows(idx: np.ndarray, base_idx: np.ndarray) -> pa.Table:
        """Theirs' rows, with columns theirs lacks taken from the base rows (unchanged there)."""
        rows = aligned(ct.b, idx)
        if lacking[1]:
            base_rows = aligned(ct.a, base_idx)
            for c in lacking[1]:
                i = schema.get_field_index(c)
                rows = rows.set_column(i, schema.field(c), base_rows.column(c))
        return rows

    # theirs changed rows
    t_rows = ct.b.take(pa.array(ct.pair_b))
    kind, idx = ours_status(t_rows.select(list(key)))
    base_rows = _rows(ct, "a", ct.pair_a)
    sel = np.flatnonzero(kind == 0)
    replace.append((co.matching.map_a(base_rows[sel]), theirs_rows(ct.pair_b[sel], ct.pair_a[sel])))
    sel = np.flatnonzero(kind == 1)
    if len(sel):
        merged, cconf, differs = merge_cells(
            name, key_text(ct.b.take(pa.array(ct.pair_b[sel])), key), schema,
            aligned(ct.a, ct.pair_a[sel]), aligned(co.b, idx[sel]), aligned(ct.b, ct.pair_b[sel]),
            settings.strategies, settings.default, settings.resolutions, "cell", lacking)
        conflicts.append(cconf)
        keep = np.flatnonzero(differs)
        replace.append((_rows(co, "b", idx[sel][keep]), merged.take(pa.array(keep, pa.int64()))))
    sel = np.flatnonzero(kind == 2)  # theirs modified, ours deleted
    if len(sel):
        keys = key_text(t_rows.take(pa.array(sel)), key)
        choice = settings.row_choice(name, keys.to_pylist(), "delete_modify")
        bad = choice < 0
        if bad.any():
            conflicts.append(conflict_rows(name, keys.filter(pa.array(bad)), None, pa.array(["row"] * int(bad.sum())),
                                           pa.array(["deleted"] * int(bad.sum())),
                                           pa.array(["modified"] * int(bad.sum())), "delete_modify"))
        take = sel[choice == 1]
        insert.append((co.matching.insert_after_a(base_rows[take]), theirs_rows(ct.pair_b[take], ct.pair_a[take])))
    # theirs removed rows
    r_rows = ct.a.take(pa.array(ct.removed))
    kind, idx = ours_status(r_rows.select(list(key)))
    base_removed = _rows(ct, "a", ct.removed)
    remove.append(co.matching.map_a(base_removed[kind == 0]))
    sel = np.flatnonzero(kind == 1)  # ours modified, theirs deleted
    if len(sel):
        keys = key_text(r_rows.take(pa.array(sel)), key)
        choice = settings.row_choice(name, keys.to_pylist(), "modify_delete")
        bad = choice < 0
        if bad.any():
            conflicts.append(conflict_rows(name, keys.filter(pa.array(bad)), None, pa.array(["row"] * int(bad.sum())),
                                           pa.array(["modified"] * int(bad.sum())),
                                           pa.array(["deleted"] * int(bad.sum())), "modify_delete"))
        remove.append(_rows(co, "b", idx[sel][choice == 1]))
    # theirs added rows
    a_rows = ct.b.take(pa.array(ct.added))
    kind, idx = ours_status(a_rows.select(list(key)))
    theirs_added = _rows(ct, "b", ct.added)
    sel = np.flatnonzero(kind == 0)
    insert.append((_insert_points(co, ct, theirs_added[sel]), aligned(ct.b, ct.added[sel])))
    sel = np.flatnonzero(kind == 3)
    if len(sel):
        merged, cconf, differs = merge_cells(
            name, key_text(a_rows.take(pa.array(sel)), key), schema, None, aligned(co.b, idx[sel]),
            aligned(ct.b, ct.added[sel]), settings.strategies, settings.default, settings.resolutions, "add_add",
            lacking)
        conflicts.append(cconf)
        keep = np.flatnonzero(differs)
        replace.append((_rows(co, "b", idx[sel][keep]), merged.take(pa.array(keep, pa.int64()))))
    return _finish(store, o, schema, conflicts, remove, replace, insert)


def _finish(store: Store, o: Side, schema: pa.Schema, conflicts: list[pa.Table], remove: list, replace: list,
            insert: list) -> TableOutcome:
    table = conflicts_table(conflicts)
    if table.num_rows:
        return TableOutcome(None, table, False)
    edit = _edit(schema, remove, replace, insert)
    if edit.empty and schema.equals(o.schema):
        return TableOutcome(as_ingested(o.info), table, False)
    return TableOutcome(None, table, True, (o, schema, edit))


def _merge_keyless(store: Store, name: str, b: Side, o: Side, t: Side, settings: Settings) -> TableOutcome:
    if not (logical_schema(b.schema) == logical_schema(o.schema) == logical_schema(t.schema)):
        choice = settings.row_choice(name, [""], "schema")[0]
        if choice < 0:
            return TableOutcome(None, conflicts_table([conflict_rows(
                name, pa.array([""]), None, pa.array([_cols(b.schema)]), pa.array([_cols(o.schema)]),
                pa.array([_cols(t.schema)]), "schema")]), False)
        return TableOutcome(as_ingested((t if choice == 1 else o).info), conflicts_table([]), choice == 1)
    co = table_changes(store, b, o, None, pair=None)
    ct = table_changes(store, b, t, None, pair=None)
    k = list(KEY_COLUMNS)

    def deltas(ch: TableChanges) -> pa.Table:
        rem = ch.a.take(pa.array(ch.removed)).select(k).append_column("d", pa.array(np.full(len(ch.removed), -1)))
        add = ch.b.take(pa.array(ch.added)).select(k).append_column("d", pa.array(np.full(len(ch.added), 1)))
        return pa.concat_tables([rem, add]).group_by(k).aggregate([("d", "sum")])

    do, dt = deltas(co), deltas(ct)
    joined = dt.join(do, keys=k, join_type="left outer", right_suffix="_o", use_threads=False)
    d_t = joined.column("d_sum").to_numpy()
    d_o = pc.fill_null(joined.column("d_sum_o"), 0).to_numpy()
    clean = joined.filter(pa.array(d_o == 0)).select(k)
    both = joined.filter(pa.array((d_o != 0) & (d_o != d_t)))

    def in_clean(rows: pa.Table) -> np.ndarray:
        if not rows.num_rows or not clean.num_rows:
            return np.zeros(rows.num_rows, bool)
        return _member(rows.select(k), clean)

    rem_sel = np.flatnonzero(in_clean(ct.a.take(pa.array(ct.removed))))
    add_sel = np.flatnonzero(in_clean(ct.b.take(pa.array(ct.added))))
    remove = [co.matching.map_a(_rows(ct, "a", ct.removed[rem_sel]))]
    insert = [(_insert_points(co, ct, _rows(ct, "b", ct.added[add_sel])),
               ct.b.take(pa.array(ct.added[add_sel])).drop_columns([*k, ROW]))]
    conflicts: list[pa.Table] = []
    if both.num_rows:
        sample = _representatives(both, ct, co)
        keys = pc.binary_join_element_wise(*[_as_text(sample.column(c)) for c in o.schema.names], ", ") \
            if o.schema.names else pa.array([""] * both.num_rows)
        choice = settings.row_choice(name, keys.to_pylist(), "count")
        bad = choice < 0
        if (choice == 1).any():
            raise_theirs = keys.filter(pa.array(choice == 1)).to_pylist()
            raise InvalidInput(f"table {name!r}: a keyless count conflict resolves only to {OURS} "
                               f"(row {raise_theirs[0]}); declare a key to merge such rows", table=name)
        if bad.any():
            d_o_b = both.column("d_sum_o").to_numpy()
            d_t_b = both.column("d_sum").to_numpy()
            conflicts.append(conflict_rows(name, keys.filter(pa.array(bad)), None, None,
                                           pa.array([f"{v:+d}" for v in d_o_b[bad]]),
                                           pa.array([f"{v:+d}" for v in d_t_b[bad]]), "count"))
    return _finish(store, o, o.schema, conflicts, remove, [], insert)


def _member(rows: pa.Table, keys: pa.Table) -> np.ndarray:
    """Whether each row's (k1, k2) is among ``keys`` (unique)."""
    marked = keys.append_column("__hit", pa.array(np.ones(keys.num_rows, bool)))
    probe = rows.append_column("__i", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    joined = probe.join(marked, keys=list(KEY_COLUMNS), join_type="left outer", use_threads=False)
    hit = np.zeros(rows.num_rows, bool)
    found = joined.filter(pc.is_valid(joined.column("__hit")))
    hit[found.column("__i").to_numpy()] = True
    return hit


def _representatives(both: pa.Table, ct: TableChanges, co: TableChanges) -> pa.Table:
    """One row of values per conflicting hash (from any side that has it)."""
    k = list(KEY_COLUMNS)
    pool = pa.concat_tables([ct.a, ct.b, co.a, co.b], promote_options="permissive")
    pool = pool.append_column("__i", pa.array(np.arange(pool.num_rows, dtype=np.int64)))
    firsts = pool.group_by(k).aggregate([("__i", "min")])
    joined = both.select(k).join(firsts, keys=k, join_type="inner", use_threads=False)
    return pool.take(joined.column("__i_min"))


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(col.cast(pa.string()), NULL)


def _cols(schema: pa.Schema) -> str:
    return ", ".join(f"{n}:{t}" for n, t in sorted(_lt(schema).items()))
