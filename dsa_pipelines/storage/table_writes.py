"""Writing an edited table: an existing table ("ours") with rows removed, replaced and inserted.

Merge, row edits, revert and cherry-pick all end here. New rows go through the one
ingest path (:func:`.ingest.ingest_table`: hashing, dedup, pack write); unchanged rows
keep their manifest ranges, so storage follows the number of edited rows. Only a
schema change (every row's hash changes) rewrites the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .commit_ids import table_content_id
from .errors import InvalidInput
from .hashing import KEY_COLUMNS, keys_digest, logical_schema
from .ingest import IngestedTable, ingest_table
from .manifest import Manifest, expand_ranges
from .manifest_match import slice_ranges
from .models import ColumnInfo, TableInfo
from .readers import source_from_frame
from .rows import read_manifest

if TYPE_CHECKING:
    from .diff import Side
    from .repository import Store


@dataclass(frozen=True)
class TableEdit:
    """Edits against a table, by its logical row ids.

    Attributes:
        remove: Rows removed.
        replace_rows: Rows replaced in place, by the rows of ``replacements`` (same order).
        replacements: The new rows (result schema).
        insert_after: Per inserted row, the row it follows (-1: the start).
        inserts: The inserted rows (result schema), in order among those at the same place.
        old_rows: If already read: the current rows at the removed and replaced row ids, in
            ascending row id order (saves reading them again for the null counts).
    """

    remove: np.ndarray
    replace_rows: np.ndarray
    replacements: pa.Table
    insert_after: np.ndarray
    inserts: pa.Table
    old_rows: pa.Table | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing changes."""
        return not (len(self.remove) or len(self.replace_rows) or len(self.insert_after))


def conform(table: pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """``table`` with exactly ``schema``'s columns and types (missing columns null).

    Raises:
        InvalidInput: a value cannot be cast to its column's type (names the column).
    """
    arrays = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        col = table.column(field.name)
        try:
            arrays.append(col if col.type == field.type else col.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise InvalidInput(f"{what}: column {field.name!r} cannot hold these values as {field.type}: {e}",
                               column=field.name) from e
    return pa.Table.from_arrays(arrays, schema=schema)


def _layout(n: int, edit: TableEdit) -> tuple[np.ndarray, np.ndarray]:
    """The result as ranges over ``ours rows ++ replacements ++ inserts``: (starts, counts)."""
    cut = np.unique(np.concatenate([edit.remove, edit.replace_rows]).astype(np.int64))
    after = np.asarray(edit.insert_after, np.int64)
    bounds = np.unique(np.clip(np.concatenate([[0, n], cut, cut + 1, after + 1]), 0, n))
    iv_start, iv_end = bounds[:-1], bounds[1:]
    keep = ~np.isin(iv_start, cut)
    iv_start, iv_end = iv_start[keep], iv_end[keep]
    k, r, i = len(iv_start), len(edit.replace_rows), len(after)
    pos = np.concatenate([iv_start, edit.replace_rows, after + 1])
    sub = np.concatenate([np.zeros(k + r, np.int64), -np.ones(i, np.int64)])
    tie = np.concatenate([np.zeros(k + r, np.int64), np.arange(i, dtype=np.int64)])
    starts = np.concatenate([iv_start, n + np.arange(r), n + r + np.arange(i)])
    counts = np.concatenate([iv_end - iv_start, np.ones(r + i, np.int64)])
    order = np.lexsort((tie, sub, pos))
    return starts[order].astype(np.int64), counts[order].astype(np.int64)


def write_table(store: Store, ours: Side, schema: pa.Schema, edit: TableEdit) -> IngestedTable:
    """Store ``ours`` with ``edit`` applied, as a table of result ``schema``.

    Args:
        store: The store.
        ours: The table edited (its manifest and schema).
        schema: The result's schema (``ours.schema`` unless columns changed).
        edit: Rows removed, replaced and inserted (rows in ``schema``).

    Returns:
        The stored table (not yet in any commit).
    """
    n = ours.row_count
    starts, counts = _layout(n, edit)
    same_schema = logical_schema(schema) == logical_schema(ours.schema) and schema.names == ours.schema.names
    if not same_schema:
        full = conform(read_manifest(store.objects, ours.manifest, ours.schema), schema, f"table {ours.name!r}")
        rows = pa.concat_tables([full, conform(edit.replacements, schema, ours.name),
                                 conform(edit.inserts, schema, ours.name)])
        result = rows.take(pa.array(expand_ranges(starts, counts)))
        return ingest_table(store.objects, store.catalog, source_from_frame(ours.name, result, origin=ours.name))
    schema = ours.schema
    new_rows = pa.concat_tables([conform(edit.replacements, schema, ours.name), conform(edit.inserts, schema,
                                                                                        ours.name)])
    parts, stored, reused_new = [ours.manifest], 0, 0
    if new_rows.num_rows:
        ing = ingest_table(store.objects, store.catalog, source_from_frame(ours.name, new_rows, origin=ours.name))
        parts.append(store.manifests.get(ing.info.manifest_id))
        stored, reused_new = ing.stored_rows, ing.reused_rows
    combined = Manifest.concat(parts)
    final = slice_ranges(combined, starts, counts)
    keys = read_manifest(store.objects, final, schema, columns=[], with_keys=True)
    logical = logical_schema(schema)
    cut = np.unique(np.concatenate([edit.remove, edit.replace_rows]).astype(np.int64))
    if edit.old_rows is not None and edit.old_rows.num_rows == len(cut):
        gone = edit.old_rows
    else:
        gone = read_manifest(store.objects, ours.manifest.select(cut), schema) if len(cut) else schema.empty_table()
    old_nulls = {c.name: c.nulls for c in ours.info.columns} if ours.info is not None else {}
    types = dict(logical)
    columns = tuple(
        ColumnInfo(f.name, str(f.type), types[f.name],
                   int(old_nulls.get(f.name, 0) - gone.column(f.name).null_count + new_rows.column(f.name).null_count))
        for f in schema)
    manifest_id = store.objects.put_bytes("manifests", final.to_bytes())
    rows = final.row_count
    reused = rows - new_rows.num_rows + reused_new
    info = TableInfo(
        name=ours.name, row_count=rows, manifest_id=manifest_id,
        content_id=table_content_id(logical, rows, keys_digest(keys.select(list(KEY_COLUMNS)))),
        schema=schema, columns=columns,
        stats={"rows": rows, "new_rows": rows - reused, "reused_rows": reused, "stored_rows": stored,
               "ranges": final.range_count},
    )
    return IngestedTable(info, rows, reused, stored)


def renamed(it: IngestedTable, name: str) -> IngestedTable:
    """The same stored table under another table name."""
    return replace(it, info=replace(it.info, name=name)) if it.info.name != name else it


def as_ingested(info: TableInfo) -> IngestedTable:
    """An existing table taken over unchanged (nothing stored)."""
    return IngestedTable(info, info.row_count, info.row_count, 0)
