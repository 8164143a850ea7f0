"""Declared table keys: the columns that identify a table's rows, and their validation.

A key is declared per (dataset, table) in the catalog. Diff and merge pair rows by it;
every commit of the table is checked: a null or duplicated key value is a
:class:`~.errors.KeyViolation` naming the first offending value and its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalog.keys_schema import declared_keys, save_key
from .errors import InvalidInput, KeyViolation
from .names import validate_table_name
from .rows import read_manifest

if TYPE_CHECKING:
    from .ingest import IngestedTable
    from .repository import Store

MAX_NAMED_ROWS = 5


def check_key_columns(key: Sequence[str], schema: pa.Schema, table: str, side: str = "") -> tuple[str, ...]:
    """The key as a tuple, after checking each column exists in ``schema``.

    Raises:
        InvalidInput: an empty key, a repeated column, or a column the table lacks.
    """
    key = tuple(key)
    if not key or len(set(key)) != len(key) or not all(isinstance(c, str) for c in key):
        raise InvalidInput(f"a key must name distinct columns, got {list(key)}", table=table)
    missing = [c for c in key if c not in schema.names]
    if missing:
        where = f" in {side}" if side else ""
        raise InvalidInput(f"key column {missing[0]!r} is missing from table {table!r}{where} "
                           f"(columns: {', '.join(schema.names)})", table=table, column=missing[0])
    return key


def check_unique(rows: pa.Table, key: Sequence[str], table: str, row_ids: np.ndarray | None = None) -> None:
    """Check that ``key`` holds no null and no duplicate in ``rows``.

    Args:
        rows: At least the key columns.
        key: The key columns.
        table: Table name, for messages.
        row_ids: Logical row id of each row (default: its position).

    Raises:
        KeyViolation: naming the first null or duplicated key value and its rows.
    """
    ids = np.arange(rows.num_rows, dtype=np.int64) if row_ids is None else np.asarray(row_ids, np.int64)
    for column in key:
        nulls = np.flatnonzero(rows.column(column).is_null().to_numpy(zero_copy_only=False))
        if len(nulls):
            named = ids[nulls[:MAX_NAMED_ROWS]].tolist()
            raise KeyViolation(f"table {table!r}: key column {column!r} is null in row(s) {named}",
                               table=table, key=tuple(key), value=None, rows=named)
    if rows.num_rows < 2:
        return
    if len(key) == 1 and pc.count_distinct(rows.column(key[0])).as_py() == rows.num_rows:
        return  # the common case, by a hash count (no grouping)
    keyed = rows.select(list(key)).append_column("__row", pa.array(ids))
    counts = keyed.group_by(list(key)).aggregate([("__row", "count"), ("__row", "min")])
    dup = counts.filter(pc.greater(counts.column("__row_count"), 1))
    if dup.num_rows == 0:
        return
    first = dup.sort_by("__row_min").slice(0, 1)
    mask = np.ones(keyed.num_rows, dtype=bool)
    for column in key:
        mask &= pc.equal(keyed.column(column), first.column(column)[0]).to_numpy(zero_copy_only=False)
    named = np.sort(ids[mask])[:MAX_NAMED_ROWS].tolist()
    value = {c: first.column(c)[0].as_py() for c in key}
    raise KeyViolation(f"table {table!r}: key {value} is duplicated in rows {named}",
                       table=table, key=tuple(key), value=value, rows=named)


def set_table_key(store: Store, dataset: str, table: str, columns: Sequence[str] | None) -> tuple[str, ...] | None:
    """Declare (or with ``columns=None`` drop) the key of a dataset's table.

    The table as it is on the default branch head, if it exists there, must already
    satisfy the key.

    Raises:
        DatasetNotFound, InvalidName, InvalidInput (unknown column), KeyViolation.
    """
    ds = store.get_dataset(dataset)
    validate_table_name(table)
    head = store.get_commit(dataset, ds.default_branch)
    key = None
    if columns is not None:
        schema = head.tables[table].schema if table in head.tables else None
        key = check_key_columns(columns, schema or pa.schema([pa.field(str(c), pa.null()) for c in columns]), table)
        if table in head.tables:
            check_unique(store.read_table(dataset, head.id, table, columns=list(key)).table, key, table)
    with store.catalog.write() as conn:
        save_key(conn, dataset, table, key)
    return key


def check_declared_keys(store: Store, dataset: str, ingested: Sequence[IngestedTable]) -> None:
    """Check every uploaded table that has a declared key (reads only its key columns).

    Raises:
        InvalidInput: the upload lacks a key column; KeyViolation: a null or duplicate key.
    """
    with store.catalog.read() as conn:
        keys = declared_keys(conn, dataset)
    for it in ingested:
        key = keys.get(it.info.name)
        if key is None:
            continue
        check_key_columns(key, it.info.schema, it.info.name, "the upload")
        rows = read_manifest(store.objects, store.manifests.get(it.info.manifest_id), it.info.schema, list(key))
        check_unique(rows, key, it.info.name)
