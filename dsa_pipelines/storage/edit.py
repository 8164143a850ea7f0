"""Row edits, revert and cherry-pick: new commits built on the three-way merge machinery.

- :func:`edit` adds, removes and updates rows of one table. Rows are named by their key
  values when the table declares a key, else by logical row id. The edit is applied to
  ``base`` (default: the branch head); if the branch head has moved past it, the edit
  is three-way merged onto the head. Storage is O(edited rows).
- :func:`revert` applies the inverse of a commit's change (against its first parent,
  or ``mainline`` for a merge): a three-way merge with base = the commit, theirs = its
  parent. :func:`cherry_pick` applies the change itself (base = parent, theirs = commit).

A conflict raises :class:`~.errors.MergeConflict` (with the conflicts table); nothing
is written and no ref moves.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalog.keys_schema import declared_key
from .diff import Side, pair_equal
from .errors import InvalidInput, MergeConflict, RefConflict
from .merge import MAX_MERGE_ATTEMPTS, commit_outcomes, merge_trees
from .merge_cells import conflicts_table
from .merge_tables import TableOutcome
from .models import Commit, CommitResult, TableInfo
from .names import validate_ref_name
from .rows import read_manifest
from .table_keys import check_unique
from .table_writes import TableEdit, conform

if TYPE_CHECKING:
    from .repository import Store

Rows = pa.Table | Sequence[Mapping] | object  # object: a pandas DataFrame


def _as_table(rows: Rows, what: str) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    if type(rows).__name__ == "DataFrame":
        try:
            return pa.Table.from_pandas(rows, preserve_index=False)
        except (pa.ArrowException, ValueError, TypeError) as e:
            raise InvalidInput(f"{what}: cannot convert the DataFrame: {e}") from e
    if isinstance(rows, Sequence) and all(isinstance(r, Mapping) for r in rows):
        try:
            return pa.Table.from_pylist(list(rows))
        except (pa.ArrowException, ValueError, TypeError) as e:
            raise InvalidInput(f"{what}: cannot read the rows: {e}") from e
    raise InvalidInput(f"{what}: give an Arrow table, a DataFrame or a list of dicts, not {type(rows).__name__}")


def _check_columns(names: Sequence[str], schema: pa.Schema, table: str, what: str) -> None:
    unknown = [c for c in names if c not in schema.names]
    if unknown:
        raise InvalidInput(f"{what}: table {table!r} has no column {unknown[0]!r} (columns: "
                           f"{', '.join(schema.names)})", table=table, column=unknown[0])


def _locate(store: Store, side: Side, key: tuple[str, ...] | None, refs: Sequence, what: str) -> np.ndarray:
    """Logical row ids of rows named by key value (declared key) or by row id."""
    refs = list(refs)
    if key is None:
        try:
            ids = np.array(refs, dtype=np.int64) if refs else np.empty(0, np.int64)
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"{what}: table {side.name!r} has no key, so rows are named by logical row id "
                               f"(integers), got {refs[:3]}", table=side.name) from e
        bad = ids[(ids < 0) | (ids >= side.row_count)]
        if len(bad):
            raise InvalidInput(f"{what}: row id {int(bad[0])} is outside table {side.name!r} "
                               f"(0..{side.row_count - 1})", table=side.name, row_id=int(bad[0]))
        return ids
    values = [r if isinstance(r, (tuple, list)) else (r,) for r in refs]
    if any(len(v) != len(key) for v in values):
        raise InvalidInput(f"{what}: key of table {side.name!r} has {len(key)} column(s) {list(key)}",
                           table=side.name)
    existing = read_manifest(store.objects, side.manifest, side.schema, list(key))
    try:
        wanted = conform(pa.table({c: pa.array([v[i] for v in values]) for i, c in enumerate(key)}),
                         existing.schema, f"{what}: key")
    except (pa.ArrowException, TypeError) as e:
        raise InvalidInput(f"{what}: key values {values[:3]} do not fit key {list(key)}: {e}",
                           table=side.name) from e
    if len(key) == 1:  # a hash look-up of the wanted values in the key column
        pos = pc.index_in(wanted.column(key[0]), value_set=existing.column(key[0]).combine_chunks())
        found = pos.is_valid().to_numpy(zero_copy_only=False)
        iw = np.flatnonzero(found)
        ie = pc.fill_null(pos, 0).to_numpy(zero_copy_only=False)[found].astype(np.int64)
    else:
        iw, ie = pair_equal(wanted, existing, list(key))
    if len(iw) < len(values):
        missing = values[np.setdiff1d(np.arange(len(values)), iw)[0]]
        shown = missing[0] if len(missing) == 1 else missing
        raise InvalidInput(f"{what}: table {side.name!r} has no row with key {shown!r}", table=side.name,
                           key=shown)
    return ie[np.argsort(iw)]


def build_edit(store: Store, side: Side, key: tuple[str, ...] | None, add: Rows | None, remove: Sequence | None,
               update: Mapping | None) -> TableEdit:
    """The edit of one table, validated against its schema (values cast as at ingest).

    Raises:
        InvalidInput: an unknown column, a value that cannot be cast, an unknown key or row id,
            a row both removed and updated.
    """
    schema, name = side.schema, side.name
    remove_ids = _locate(store, side, key, remove or [], "remove")
    update = dict(update or {})
    update_ids = _locate(store, side, key, list(update), "update")
    both = np.intersect1d(remove_ids, update_ids)
    if len(both):
        raise InvalidInput(f"row {int(both[0])} of table {name!r} is both removed and updated", row_id=int(both[0]))
    replacements = schema.empty_table()
    cut = np.unique(np.concatenate([remove_ids, update_ids]))
    old_rows = read_manifest(store.objects, side.manifest.select(cut), schema) if len(cut) else None
    if len(update_ids):
        current = old_rows.take(pa.array(np.searchsorted(cut, update_ids)))
        changes = list(update.values())
        columns = sorted({c for ch in changes for c in ch})
        _check_columns(columns, schema, name, "update")
        for c in columns:  # one array per updated column
            given = [c in ch for ch in changes]
            try:
                values = pa.array([ch.get(c) for ch in changes]).cast(schema.field(c).type) if any(given) else None
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
                raise InvalidInput(f"update: column {c!r} of table {name!r} is {schema.field(c).type}; "
                                   f"cannot cast the given value(s): {e}", table=name, column=c) from e
            i = schema.get_field_index(c)
            merged = pc.if_else(pa.array(given), values, current.column(c))
            current = current.set_column(i, schema.field(c), merged)
        replacements = current
    inserts = schema.empty_table()
    if add is not None:
        rows = _as_table(add, "add")
        _check_columns(rows.column_names, schema, name, "add")
        inserts = conform(rows, schema, f"add to table {name!r}")
    after = np.full(inserts.num_rows, side.row_count - 1, np.int64)
    if key is not None and (inserts.num_rows or set(key) & {c for ch in update.values() for c in ch}):
        _check_keys_after(store, side, key, cut, replacements, inserts)
    return TableEdit(remove_ids, update_ids, replacements, after, inserts, old_rows)


def _check_keys_after(store: Store, side: Side, key: tuple[str, ...], cut: np.ndarray, replacements: pa.Table,
                      inserts: pa.Table) -> None:
    """Check the declared key over the table as the edit leaves it, before anything is written.

    Raises:
        KeyViolation: a null or duplicated key value (row ids: kept rows keep theirs, new rows follow).
    """
    existing = read_manifest(store.objects, side.manifest, side.schema, list(key))
    kept = np.ones(existing.num_rows, bool)
    kept[cut] = False
    after = pa.concat_tables([existing.filter(pa.array(kept)), replacements.select(list(key)),
                              inserts.select(list(key))])
    check_unique(after, key, side.name)


def _apply(store: Store, dataset: str, branch: str, base: Commit, theirs: Mapping[str, TableInfo], *,
           key: Sequence[str] | None, message: str, author: str, what: str,
           run_id: str | None = None, keys_checked: bool = False) -> CommitResult:
    """Commit ``theirs`` (a change made against ``base``) onto the branch head, three-way when it moved."""
    for attempt in range(1, MAX_MERGE_ATTEMPTS + 1):
        head = store.get_commit(dataset, store.branch(dataset, branch).commit_id)
        outcomes, conflicts = merge_trees(store, dataset, base.tables, head.tables, theirs, key, None, "fail", "fail")
        if conflicts.num_rows:
            first = conflicts.slice(0, 1).to_pylist()[0]
            raise MergeConflict(f"{what} conflicts with {branch} ({conflicts.num_rows} conflict(s); first: "
                                f"{first['kind']} in table {first['table']!r}, key {first['key']}, column "
                                f"{first['column']})", dataset=dataset, conflicts=conflicts)
        try:
            return commit_outcomes(store, dataset, branch, head.id, head.tables, outcomes, message=message,
                                   author=author, run_id=run_id, check_keys=not (keys_checked and head.id == base.id))
        except RefConflict:
            if attempt == MAX_MERGE_ATTEMPTS:
                raise
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def edit(store: Store, dataset: str, branch: str, *, table: str | None = None, add: Rows | None = None,
         remove: Sequence | None = None, update: Mapping | None = None, base: str | None = None,
         message: str = "", author: str = "", run_id: str | None = None) -> CommitResult:
    """Add, remove and update rows of one table (see :meth:`Store.edit`)."""
    branch = validate_ref_name(branch, "branch")
    head_id = store.branch(dataset, branch).commit_id
    base_c = store.get_commit(dataset, base or head_id)
    info = store.table_info(dataset, base_c.id, table)
    with store.catalog.read() as conn:
        key = declared_key(conn, dataset, info.name)
    side = Side.of(store, info, info.name, info.schema)
    change = build_edit(store, side, key, add, remove, update)
    if change.empty:
        return _apply(store, dataset, branch, base_c, base_c.tables, key=None, message=message, author=author,
                      what="the edit", run_id=run_id)
    written = TableOutcome(None, conflicts_table([]), True, (side, info.schema, change)).written(store)
    theirs = {**base_c.tables, info.name: written.info}
    return _apply(store, dataset, branch, base_c, theirs, key=None,
                  message=message or f"Edit {info.name}: {change.inserts.num_rows} added, {len(change.remove)} "
                                     f"removed, {len(change.replace_rows)} updated", author=author, what="the edit",
                  run_id=run_id, keys_checked=True)


def _parent(commit: Commit, mainline: int | None, what: str) -> str:
    if not commit.parents:
        raise InvalidInput(f"cannot {what} the root commit {commit.short_id}", commit=commit.id)
    if len(commit.parents) > 1 and mainline is None:
        raise InvalidInput(f"commit {commit.short_id} is a merge; say which parent is the mainline "
                           f"(mainline=1..{len(commit.parents)})", commit=commit.id)
    m = mainline or 1
    if not 1 <= m <= len(commit.parents):
        raise InvalidInput(f"mainline {m} is not a parent number of {commit.short_id} (1..{len(commit.parents)})",
                           commit=commit.id)
    return commit.parents[m - 1]


def revert(store: Store, dataset: str, branch: str, commit: str, *, mainline: int | None = None,
           message: str = "", author: str = "", run_id: str | None = None) -> CommitResult:
    """Apply the inverse of ``commit``'s change onto the branch head (see :meth:`Store.revert`)."""
    branch = validate_ref_name(branch, "branch")
    store.branch(dataset, branch)
    c = store.get_commit(dataset, commit)
    parent = store.get_commit(dataset, _parent(c, mainline, "revert"))
    first_line = c.message.splitlines()[0] if c.message else c.short_id
    return _apply(store, dataset, branch, c, parent.tables, key=None, author=author, what=f"reverting {c.short_id}",
                  message=message or f'Revert "{first_line}"\n\nThis reverts commit {c.id}.', run_id=run_id)


def cherry_pick(store: Store, dataset: str, branch: str, commit: str, *, mainline: int | None = None,
                message: str = "", author: str = "", run_id: str | None = None) -> CommitResult:
    """Apply ``commit``'s change (against its parent) onto the branch head (see :meth:`Store.cherry_pick`)."""
    branch = validate_ref_name(branch, "branch")
    store.branch(dataset, branch)
    c = store.get_commit(dataset, commit)
    parent = store.get_commit(dataset, _parent(c, mainline, "cherry-pick"))
    return _apply(store, dataset, branch, parent, c.tables, key=None, author=author,
                  what=f"cherry-picking {c.short_id}",
                  message=message or f"{c.message or c.short_id}\n\n(cherry picked from commit {c.id})",
                  run_id=run_id)
