"""Reading a row edit from a file, for ``dsa edit`` and the ``edit_rows`` job.

Two formats (see ``docs/diff-merge.md``):

- **CSV** with an ``action`` column: ``add`` (or ``+``) rows are appended; ``remove``
  (``-``) rows name a row by its key columns (declared key) or a ``logical_row_id``
  column; ``update`` (``~``) rows name a row the same way and set every other non-empty
  cell. Cells are text, cast to the column types like an upload.
- **JSON**: ``{"add": [{...}], "remove": [key or row id, ...], "update": [{"key": ...,
  "set": {...}}]}`` (``"row"`` instead of ``"key"`` for a logical row id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import InvalidFile, InvalidInput

ACTIONS = {"add": "add", "+": "add", "remove": "remove", "-": "remove", "update": "update", "~": "update"}
ROW_ID = "logical_row_id"


def read_changes(path: str | Path, key: Sequence[str] | None) -> tuple[pa.Table | None, list, dict]:
    """Parse a changes file into ``(add, remove, update)`` for :meth:`Store.edit`.

    Args:
        path: A ``.json`` file, else CSV.
        key: The table's declared key (rows are named by it), or None (by ``logical_row_id``).

    Raises:
        InvalidFile: the file cannot be read or lacks the action or row-naming columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidFile(f"changes file {str(path)!r} does not exist", path=str(path))
    if path.suffix.lower() == ".json":
        return _from_json(path)
    return _from_csv(path, key)


def _ref(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _from_json(path: Path) -> tuple[pa.Table | None, list, dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidFile(f"changes file {path.name!r} is not valid JSON: {e}", path=str(path)) from e
    if not isinstance(doc, dict) or set(doc) - {"add", "remove", "update"}:
        raise InvalidFile(f"changes file {path.name!r}: expected an object with add, remove and/or update",
                          path=str(path))
    add = doc.get("add")
    update = {}
    for item in doc.get("update", []):
        if not isinstance(item, dict) or "set" not in item or not ({"key", "row"} & set(item)):
            raise InvalidFile(f"changes file {path.name!r}: each update needs \"key\" (or \"row\") and \"set\"",
                              path=str(path))
        update[_ref(item.get("key", item.get("row")))] = dict(item["set"])
    return (pa.Table.from_pylist(add) if add else None), [_ref(r) for r in doc.get("remove", [])], update


def _from_csv(path: Path, key: Sequence[str] | None) -> tuple[pa.Table | None, list, dict]:
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={}, strings_can_be_null=True, auto_dict_encode=False),
            read_options=pacsv.ReadOptions(autogenerate_column_names=False))
        table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    except (pa.ArrowInvalid, OSError) as e:
        raise InvalidFile(f"changes file {path.name!r} cannot be read as CSV: {e}", path=str(path)) from e
    if "action" not in table.column_names:
        raise InvalidFile(f"changes file {path.name!r} has no 'action' column (add, remove, update)", path=str(path))
    actions = pc.utf8_lower(pc.fill_null(table.column("action"), ""))
    unknown = pc.invert(pc.is_in(actions, pa.array(list(ACTIONS))))
    if pc.any(unknown).as_py():
        bad = pc.filter(table.column("action"), unknown)[0].as_py()
        raise InvalidFile(f"changes file {path.name!r}: unknown action {bad!r} (use add, remove, update)",
                          path=str(path))
    data = table.drop_columns(["action"])

    def rows(kind: str) -> pa.Table:
        names = [a for a, k in ACTIONS.items() if k == kind]
        return data.filter(pc.is_in(actions, pa.array(names)))

    naming = list(key) if key else [ROW_ID]
    for kind in ("remove", "update"):
        if rows(kind).num_rows and not set(naming) <= set(data.column_names):
            raise InvalidFile(f"changes file {path.name!r}: {kind} rows need column(s) {naming}", path=str(path))
    added = rows("add")
    add = added.drop_columns([c for c in added.column_names if c == ROW_ID]) if added.num_rows else None
    removed = rows("remove").select(naming).to_pylist()  # the file's rows (edit-sized)
    remove = [_name(r, naming) for r in removed]
    update = {}
    for r in rows("update").to_pylist():
        update[_name(r, naming)] = {c: v for c, v in r.items() if c not in naming and c != ROW_ID and v is not None}
    return add, remove, update


def _name(row: dict, naming: list[str]) -> object:
    if naming == [ROW_ID]:
        try:
            return int(row[ROW_ID])
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"logical_row_id {row[ROW_ID]!r} is not an integer", row_id=row[ROW_ID]) from e
    values = tuple(row[c] for c in naming)
    return values[0] if len(values) == 1 else values
