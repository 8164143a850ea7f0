"""A diff as a daff "highlighter" table (specs.frictionlessdata.io/tabular-diff), CSV or HTML.

The first column is the action: ``!`` marks the schema row (``+++`` added column, ``---``
removed column, ``:`` moved column), ``@@`` the header row, ``+++`` an added row, ``---``
a removed row, ``->`` a changed row whose changed cells read ``old->new``, ``...`` rows
left out. Cells are built column-wise with Arrow compute (no loop over rows). Text
cells a spreadsheet would run as formulas are prefixed with ``'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import InvalidInput

if TYPE_CHECKING:
    from .diff_models import Diff, TableDiff

META_COLUMNS = ("change", "base_logical_row_id", "logical_row_id", "changed_columns")
"""The columns ``TableDiff.rows()`` puts before the data columns."""
OLD_SUFFIX = "__old"
"""Suffix of the columns holding the base value of changed cells."""

_ACTIONS = {"+": "+++", "-": "---", "~": "->"}
_RISKY = r"^[=@\t\r]|^[+\-][^0-9.]"
_STYLE = """<style>
body{font-family:sans-serif} table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:2px 6px} th{background:#aaf}
tr.add td{background:#7f7} tr.remove td{background:#f77} td.modify{background:#7af}
tr.spec td{background:#aaa} tr.gap td{color:#888}
</style>"""


def _text(col: pa.ChunkedArray | pa.Array, null: str) -> pa.Array:
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    text = col if pa.types.is_string(col.type) else col.cast(pa.string())
    return pc.fill_null(text, null)


def _data_columns(rows: pa.Table) -> list[str]:
    return [c for c in rows.column_names if c not in META_COLUMNS and not c.endswith(OLD_SUFFIX)]


def highlighter(td: TableDiff) -> tuple[list[str], list[list[str]], pa.Table, np.ndarray]:
    """The highlighter table of one table diff.

    Returns:
        (column names, the header rows (schema row, ``@@`` row), the data rows as a string
        table whose first column is the action, per data row whether a cell changed per column).
    """
    rows = td.rows()
    columns = _data_columns(rows)
    headers: list[list[str]] = []
    if td.schema.changed:
        added = {c for c, _ in td.schema.added}
        removed = {c for c, _ in td.schema.removed}
        moved = set(td.schema.reordered)
        headers.append(["!", *("+++" if c in added else "---" if c in removed else ":" if c in moved else ""
                               for c in columns)])
    headers.append(["@@", *columns])
    change = rows.column("change").combine_chunks()
    action = pc.fill_null(pc.replace_substring_regex(change, "^~$", "->"), "")
    action = pc.replace_substring_regex(pc.replace_substring_regex(action, r"^\+$", "+++"), "^-$", "---")
    modified = np.zeros((rows.num_rows, len(columns)), bool)
    cells = []
    lists = rows.column("changed_columns").combine_chunks()
    for j, c in enumerate(columns):
        new = _text(rows.column(c), "")
        old_name = f"{c}{OLD_SUFFIX}"
        if old_name in rows.column_names:
            flat = pc.list_flatten(lists)
            parents = pc.list_parent_indices(lists).to_numpy()
            hit = np.zeros(rows.num_rows, bool)
            hit[parents[pc.equal(flat, c).to_numpy(zero_copy_only=False)]] = True
            arrow = pc.binary_join_element_wise(_text(rows.column(old_name), "NULL"), _text(rows.column(c), "NULL"),
                                                "->")
            new = pc.if_else(pa.array(hit), arrow, new)
            modified[:, j] = hit
        risky = pc.fill_null(pc.match_substring_regex(new, _RISKY), False)
        cells.append(pc.if_else(risky, pc.binary_join_element_wise("'", new, ""), new))
    body = pa.table([action, *cells], names=["@@", *columns])
    body, modified = _with_gaps(body, modified, rows, td)
    return columns, headers, body, modified


def _with_gaps(body: pa.Table, modified: np.ndarray, rows: pa.Table, td: TableDiff) -> tuple[pa.Table, np.ndarray]:
    """Insert ``...`` rows where unchanged rows are left out."""
    n = rows.num_rows
    if n == 0:
        return body, modified
    target = rows.column("logical_row_id").to_numpy(zero_copy_only=False)
    target = np.where(np.isnan(target.astype(float)), np.nan, target).astype(float)
    last = np.fmax.accumulate(np.where(np.isnan(target), -1, target))
    before = np.concatenate([[-1.0], last[:-1]])
    gap = ~np.isnan(target) & (target > before + 1)
    total = td.added + td.changed + td.unchanged
    trailing = last[-1] < total - 1
    slots = np.flatnonzero(gap)
    order = np.concatenate([np.arange(n), slots - 0.5, [n] if trailing else []])
    dots = pa.table({c: pa.array(["..." if c == "@@" else ""] * (len(slots) + int(trailing)), pa.string())
                     for c in body.column_names})
    combined = pa.concat_tables([body, dots])
    perm = np.argsort(order, kind="stable")
    mod = np.concatenate([modified, np.zeros((len(slots) + int(trailing), modified.shape[1]), bool)])
    return combined.take(pa.array(perm)), mod[perm]


def _one_table(diff: Diff, table: str | None) -> TableDiff:
    if table is not None:
        if table not in diff.tables:
            raise InvalidInput(f"the diff has no table {table!r} (tables: {', '.join(diff.tables)})", table=table)
        return diff.tables[table]
    differing = [t for t in diff.tables.values() if t.differs]
    if len(differing) > 1:
        raise InvalidInput(f"several tables differ ({', '.join(t.table for t in differing)}); name one "
                           "(CSV holds one table; HTML holds all)")
    return differing[0] if differing else next(iter(diff.tables.values()))


def write_csv(diff: Diff, path: Path, table: str | None = None) -> Path:
    """Write one table's diff as highlighter CSV (``table`` may be omitted when one table differs)."""
    _, headers, body, _ = highlighter(_one_table(diff, table))
    width = body.num_columns
    head = pa.table({f"c{i}": pa.array([h[i] for h in headers], pa.string()) for i in range(width)})
    out = pa.concat_tables([head, body.rename_columns([f"c{i}" for i in range(width)])])
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(out, path, pacsv.WriteOptions(include_header=False))
    return path


def _escape(col: pa.Array) -> pa.Array:
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        col = pc.replace_substring(col, a, b)
    return col


def _html_table(td: TableDiff) -> str:
    columns, headers, body, modified = highlighter(td)
    head = "".join(
        "<tr class=\"spec\">" + "".join(f"<td>{_escape(pa.array([h]))[0].as_py()}</td>" for h in row) + "</tr>"
        if row[0] == "!" else "<tr>" + "".join(f"<th>{_escape(pa.array([h]))[0].as_py()}</th>" for h in row) + "</tr>"
        for row in headers)
    if not body.num_rows:
        return f"<h2>{td.table}: no differences</h2><table>{head}</table>"
    action = body.column("@@").combine_chunks()
    cls = pc.fill_null(pc.replace_substring_regex(pc.replace_substring_regex(pc.replace_substring_regex(
        pc.replace_substring_regex(action, r"^\+\+\+$", "add"), "^---$", "remove"), "^->$", "change"),
        r"^\.\.\.$", "gap"), "")
    cells = [pc.binary_join_element_wise("<td>", _escape(action), "</td>", "")]
    for j, c in enumerate(columns):
        opening = pc.if_else(pa.array(modified[:, j]), "<td class=\"modify\">", "<td>")
        cells.append(pc.binary_join_element_wise(opening, _escape(body.column(c).combine_chunks()), "</td>", ""))
    rows = pc.binary_join_element_wise("<tr class=\"", cls, "\">", *cells, "</tr>", "")
    counts = f"{td.added} added, {td.removed} removed, {td.changed} changed, {td.unchanged} unchanged"
    return f"<h2>{td.table} <small>({counts})</small></h2><table>{head}{''.join(rows.to_pylist())}</table>"


def write_html(diff: Diff, path: Path) -> Path:
    """Write every table's diff as one HTML page, coloured by change."""
    title = f"{diff.dataset}: {diff.base[:12]} → {diff.target[:12]}"
    parts = [_html_table(t) for t in diff.tables.values()]
    page = f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>{_STYLE}</head>" \
           f"<body><h1>{title}</h1>{''.join(parts)}</body></html>"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
