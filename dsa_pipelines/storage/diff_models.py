"""The values a diff returns: per-table counts, schema changes and the differing rows.

All frozen. ``TableDiff.rows()`` pages through one Arrow table of the differing rows in
target order (format in ``docs/diff-merge.md``):

- ``change``: ``+`` added, ``-`` removed, ``~`` changed;
- ``base_logical_row_id`` / ``logical_row_id``: the row's position in base / target
  (null where the row is absent on that side);
- ``changed_columns``: for ``~`` rows, the names of the cells that differ;
- the data columns: the target's values (for ``-`` rows, the removed row's values);
- ``<column>__old``: for ``~`` rows, the base value of each changed cell (null where the
  cell did not change), present for every column with at least one changed cell.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .diff_format import write_csv, write_html


@dataclass(frozen=True)
class SchemaDiff:
    """Column changes of one table between base and target.

    Attributes:
        added: (name, logical type) of columns only the target has.
        removed: (name, logical type) of columns only the base has.
        retyped: (name, old logical type, new logical type).
        reordered: Columns of both whose relative order alone changed.
    """

    added: tuple[tuple[str, str], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()
    retyped: tuple[tuple[str, str, str], ...] = ()
    reordered: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether any column changed."""
        return bool(self.added or self.removed or self.retyped or self.reordered)

    def to_dict(self) -> dict:
        """A JSON-able summary."""
        return {"added": [list(c) for c in self.added], "removed": [list(c) for c in self.removed],
                "retyped": [list(c) for c in self.retyped], "reordered": list(self.reordered)}


@dataclass(frozen=True)
class TableDiff:
    """How one table differs between two commits.

    Attributes:
        table: The table name.
        status: ``added``, ``removed``, ``modified`` or ``unchanged``.
        added: Rows only in the target.
        removed: Rows only in the base.
        changed: Rows paired (by key, or by position for keyless tables) whose cells differ.
        unchanged: Rows in both, unchanged.
        schema: The column changes.
        key: The key the rows were paired by (None: keyless).
        rows_read: Rows read from storage to compute the diff (the rest matched by manifest).
    """

    table: str
    status: str
    added: int
    removed: int
    changed: int
    unchanged: int
    schema: SchemaDiff
    key: tuple[str, ...] | None
    rows_read: int
    changes: pa.Table | None = field(repr=False, hash=False, compare=False)
    loader: Callable[[int, int | None], pa.Table] | None = field(default=None, repr=False, hash=False,
                                                                 compare=False)

    def rows(self, limit: int | None = None, offset: int = 0) -> pa.Table:
        """The differing rows in target order (removed rows where they were), paginated.

        Args:
            limit: At most this many rows (None: all).
            offset: Rows to skip.

        Returns:
            An Arrow table in the format described in this module's docstring.
        """
        offset = max(offset, 0)
        if self.loader is not None:  # a whole table added or removed: read only the page asked for
            return self.loader(offset, limit)
        return self.changes.slice(offset, limit) if limit is not None else self.changes.slice(offset)

    @property
    def differs(self) -> bool:
        """Whether rows or columns differ."""
        return bool(self.added or self.removed or self.changed or self.schema.changed or
                    self.status in ("added", "removed"))


@dataclass(frozen=True)
class Diff:
    """How two commits of a dataset differ, per table.

    Attributes:
        dataset: The dataset.
        base: The base commit id.
        target: The target commit id.
        tables: Every table present in either commit, by name.
    """

    dataset: str
    base: str
    target: str
    tables: dict[str, TableDiff] = field(hash=False, compare=False)

    @property
    def added(self) -> int:
        """Rows added over all tables."""
        return sum(t.added for t in self.tables.values())

    @property
    def removed(self) -> int:
        """Rows removed over all tables."""
        return sum(t.removed for t in self.tables.values())

    @property
    def changed(self) -> int:
        """Rows changed over all tables."""
        return sum(t.changed for t in self.tables.values())

    def summary(self) -> dict:
        """Per-table counts and schema changes, JSON-able."""
        return {name: {"status": t.status, "added": t.added, "removed": t.removed, "changed": t.changed,
                       "unchanged": t.unchanged, "schema": t.schema.to_dict()}
                for name, t in self.tables.items()}

    def to_csv(self, path: str | os.PathLike, table: str | None = None) -> Path:
        """Write one table's diff as a daff "highlighter" CSV (``@@`` action column).

        Args:
            path: The file to write.
            table: The table (default: the one that differs).

        Returns:
            The written path.

        Raises:
            InvalidInput: several tables differ and none is named.
        """
        return write_csv(self, Path(path), table)

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the diff of every table as one HTML page in the highlighter format, coloured by change.

        Returns:
            The written path.
        """
        return write_html(self, Path(path))
