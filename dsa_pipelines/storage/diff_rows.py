"""The ``TableDiff.rows()`` table: a table change as Arrow rows in target order.

Built column-wise from a :class:`.diff.TableChanges` (format in :mod:`.diff_models`):
removed rows are placed where they were — after the target row of the nearest preceding
base row that is unchanged or paired. A whole table added or removed is paged straight
from its manifest (:func:`whole_table`), so its diff reads only the rows shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .diff import ROW, TableChanges, union_columns
from .diff_format import META_COLUMNS, OLD_SUFFIX
from .hashing import logical_schema
from .models import TableInfo
from .rows import read_manifest

if TYPE_CHECKING:
    from .repository import Store


def _output_type(name: str, a: pa.Schema, b: pa.Schema) -> pa.DataType:
    if name in a.names and name in b.names and \
            logical_schema(pa.schema([a.field(name)])) != logical_schema(pa.schema([b.field(name)])):
        return pa.string()  # a retyped column is shown as text
    return b.field(name).type if name in b.names else a.field(name).type


def _values(table: pa.Table, rows: np.ndarray, name: str, out_type: pa.DataType) -> pa.ChunkedArray:
    if name not in table.column_names:
        return pa.chunked_array([pa.nulls(len(rows), out_type)])
    col = table.column(name).take(pa.array(rows, pa.int64()))
    return col if col.type == out_type else col.cast(out_type)


def changes_table(ch: TableChanges) -> pa.Table:
    """The differing rows in target order, in the ``TableDiff.rows()`` format."""
    a_schema, b_schema = ch.a_side.schema, ch.b_side.schema
    columns = union_columns(a_schema, b_schema)
    changed_cols = [c for c in columns if ch.changed[c].any()]
    n_rem, n_add, n_chg = len(ch.removed), len(ch.added), len(ch.pair_a)
    a_rows = ch.a.column(ROW).to_numpy()
    b_rows = ch.b.column(ROW).to_numpy()
    gap_pos = _removed_positions(ch, a_rows, b_rows)
    position = np.concatenate([gap_pos[ch.removed], b_rows[ch.added], b_rows[ch.pair_b]])
    sub = np.concatenate([np.zeros(n_rem, np.int64), np.ones(n_add + n_chg, np.int64)])
    tie = np.concatenate([a_rows[ch.removed], b_rows[ch.added], b_rows[ch.pair_b]])
    order = pa.array(np.lexsort((tie, sub, position)))
    out: dict[str, pa.ChunkedArray | pa.Array] = {
        "change": pa.array(["-"] * n_rem + ["+"] * n_add + ["~"] * n_chg, pa.string()),
        "base_logical_row_id": pa.array(np.concatenate([a_rows[ch.removed], np.zeros(n_add, np.int64),
                                                        a_rows[ch.pair_a]]),
                                        mask=np.concatenate([np.zeros(n_rem, bool), np.ones(n_add, bool),
                                                             np.zeros(n_chg, bool)])),
        "logical_row_id": pa.array(np.concatenate([np.zeros(n_rem, np.int64), b_rows[ch.added], b_rows[ch.pair_b]]),
                                   mask=np.concatenate([np.ones(n_rem, bool), np.zeros(n_add + n_chg, bool)])),
    }
    if n_chg and columns:
        matrix = np.stack([ch.changed[c] for c in columns], axis=1)
        _, col_idx = np.nonzero(matrix)  # row-major: each row's changed columns in column order
        offsets = np.concatenate([[0], np.cumsum(matrix.sum(axis=1))]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.array(columns, dtype=object)[col_idx],
                                                                      pa.string()))
    else:
        lists = pa.array([[]] * n_chg, pa.list_(pa.string()))
    out["changed_columns"] = pa.concat_arrays([pa.nulls(n_rem + n_add, pa.list_(pa.string())), lists])
    for c in columns:
        t = _output_type(c, a_schema, b_schema)
        label = f"{c}__new" if c in META_COLUMNS else c
        out[label] = pa.concat_arrays([_values(ch.a, ch.removed, c, t).combine_chunks(),
                                       _values(ch.b, ch.added, c, t).combine_chunks(),
                                       _values(ch.b, ch.pair_b, c, t).combine_chunks()])
    for c in changed_cols:
        t = _output_type(c, a_schema, b_schema)
        old = _values(ch.a, ch.pair_a, c, t).combine_chunks()
        old = pc.if_else(pa.array(ch.changed[c]), old, pa.nulls(n_chg, t))
        out[f"{c}{OLD_SUFFIX}"] = pa.concat_arrays([pa.nulls(n_rem + n_add, t), old])
    return pa.table(out).take(order)


def _removed_positions(ch: TableChanges, a_rows: np.ndarray, b_rows: np.ndarray) -> np.ndarray:
    """For each unpaired base row, the target position it "was" at: after the target row of the
    nearest preceding base row that is unchanged or paired (0 when there is none)."""
    m = ch.matching
    anchor_a = np.concatenate([m.a_start + m.length - 1, a_rows[ch.pair_a]])
    anchor_b = np.concatenate([m.b_start + m.length - 1, b_rows[ch.pair_b]])
    order = np.argsort(anchor_a, kind="stable")
    anchor_a, anchor_b = anchor_a[order], anchor_b[order]
    i = np.searchsorted(anchor_a, a_rows, side="left") - 1
    return np.where(i >= 0, anchor_b[np.clip(i, 0, None)] + 1 if len(anchor_b) else 0, 0).astype(np.int64)



def whole_table(store: Store, info: TableInfo, change: str, offset: int, limit: int | None,
                 schema: pa.Schema) -> pa.Table:
    """A page of an added (``+``) or removed (``-``) table in the ``rows()`` format."""
    rows = read_manifest(store.objects, store.manifests.get(info.manifest_id).window(offset, limit), info.schema)
    n = rows.num_rows
    ids = pa.array(np.arange(offset, offset + n, dtype=np.int64))
    none = pa.nulls(n, pa.int64())
    meta = {"change": pa.array([change] * n, pa.string()), "base_logical_row_id": ids if change == "-" else none,
            "logical_row_id": ids if change == "+" else none,
            "changed_columns": pa.nulls(n, pa.list_(pa.string()))}
    data = {(f"{c}__new" if c in META_COLUMNS else c): rows.column(c) for c in info.schema.names}
    return pa.table({**meta, **data}).cast(schema)

