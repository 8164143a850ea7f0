"""Schema drift: how the tables of a commit differ in shape from another commit's.

Drift is the write-audit-publish audit that compares a staged commit with the branch
head it was built on (its first parent). For each table it reports:

- ``table_added`` / ``table_removed``;
- ``column_added`` / ``column_removed``;
- ``type_changed``: the column's *logical* type changed (the type rows are hashed with,
  :func:`~dsa_pipelines.storage.hashing.logical_schema`); a change of physical width
  only, e.g. ``int32`` → ``int64`` from a Parquet file, is not drift because the
  stored values are the same;
- ``nullability_changed``: the column held no null before and holds some now, or the
  other way round (``ColumnInfo.nullable``: a version's column is nullable when it
  holds a null).

The first data of a dataset (the base commit has no tables, e.g. the empty version 0)
is never drift: it adds tables to nothing. What a dataset does about drift is its
policy (``reject``, ``warn``, ``allow``), applied by :meth:`SchemaDriftReport.verdict`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidInput
from .hashing import logical_type
from .models import ColumnInfo, Commit, TableInfo

TABLE_ADDED = "table_added"
TABLE_REMOVED = "table_removed"
COLUMN_ADDED = "column_added"
COLUMN_REMOVED = "column_removed"
TYPE_CHANGED = "type_changed"
NULLABILITY_CHANGED = "nullability_changed"

PASS, WARN, FAIL = "pass", "warn", "fail"


class DriftPolicy(enum.Enum):
    """What a dataset does about schema drift before a branch moves."""

    # Lower-case names: Dagster's launchpad offers an Enum config field by member name.
    reject = "reject"
    """Refuse the commit (the branch stays where it was)."""
    warn = "warn"
    """Publish, and say so in the audit."""
    allow = "allow"
    """Publish; the drift report is informational."""

    @classmethod
    def parse(cls, value: str | DriftPolicy) -> DriftPolicy:
        """The policy named by ``value``.

        Raises:
            InvalidInput: not one of reject, warn, allow.
        """
        try:
            return cls(value.value if isinstance(value, cls) else value)
        except ValueError as e:
            names = ", ".join(p.value for p in cls)
            raise InvalidInput(f"drift policy {value!r} is not one of {names}", policy=value) from e


@dataclass(frozen=True)
class SchemaChange:
    """One difference between the base and the candidate schema of a table.

    Attributes:
        table: The table.
        kind: One of the ``*_ADDED``/``*_REMOVED``/``*_CHANGED`` constants of this module.
        column: The column, or None for a whole-table change.
        before: The base's value (type or nullability), or None.
        after: The candidate's value, or None.
    """

    table: str
    kind: str
    column: str | None = None
    before: str | None = None
    after: str | None = None

    def describe(self) -> str:
        """One readable line, e.g. ``customers.email: type changed string → int``."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = self.kind.replace("_", " ")
        if self.before is not None or self.after is not None:
            text += f" {self.before or '—'} → {self.after or '—'}"
        return f"{where}: {text}"


@dataclass(frozen=True)
class SchemaDriftReport:
    """The schema changes of a candidate commit against a base commit.

    Attributes:
        base: The commit compared against (the branch head the candidate was built on),
            or None when there is none.
        candidate: The commit audited.
        changes: Every difference, ordered by table, then column.
        first_data: The base holds no table, so nothing can drift.
    """

    base: str | None
    candidate: str
    changes: tuple[SchemaChange, ...]
    first_data: bool = False

    @property
    def drifted(self) -> bool:
        """Whether the schema changed (the first data of a dataset never counts)."""
        return bool(self.changes) and not self.first_data

    def verdict(self, policy: str) -> str:
        """What a dataset's drift policy makes of this report.

        Args:
            policy: ``reject``, ``warn`` or ``allow``.

        Returns:
            ``"fail"`` (reject and drifted: the branch must not move), ``"warn"``
            (warn and drifted: publish, but say so) or ``"pass"``.
        """
        if not self.drifted or policy == "allow":
            return PASS
        return FAIL if policy == "reject" else WARN

    def markdown(self) -> str:
        """The report as a markdown table (for the UI and logs)."""
        base = self.base[:12] if self.base else "nothing"
        if self.first_data:
            lines = [f"First data of the dataset (base {base} holds no table): no drift."]
        elif not self.changes:
            return f"No schema drift against {base}."
        else:
            lines = [f"Schema drift against {base}: {len(self.changes)} change(s)."]
        lines += ["", "| table | column | change | before | after |", "|---|---|---|---|---|"]
        lines += [
            f"| {c.table} | {c.column or ''} | {c.kind.replace('_', ' ')} | {c.before or ''} | {c.after or ''} |"
            for c in self.changes
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready form."""
        return {
            "base": self.base,
            "candidate": self.candidate,
            "first_data": self.first_data,
            "drifted": self.drifted,
            "changes": [vars(c).copy() for c in self.changes],
        }


def _columns(info: TableInfo) -> dict[str, ColumnInfo]:
    if info.columns:
        return {c.name: c for c in info.columns}
    # A table recorded without column facts: fall back to its Arrow schema.
    return {f.name: ColumnInfo(f.name, str(f.type), logical_type(f.type), 1 if f.nullable else 0)
            for f in info.schema}


def _type_text(column: ColumnInfo) -> str:
    return column.type if column.type == column.logical else f"{column.type} ({column.logical})"


def _nullability(column: ColumnInfo) -> str:
    return "nullable" if column.nullable else "not null"


def compare_tables(base: Mapping[str, TableInfo], candidate: Mapping[str, TableInfo]) -> tuple[SchemaChange, ...]:
    """The schema changes from one tree of tables to another.

    Args:
        base: Tables of the base commit, by name.
        candidate: Tables of the candidate commit, by name.

    Returns:
        The changes, ordered by table name, then column name.
    """
    changes: list[SchemaChange] = []
    for table in sorted(set(base) | set(candidate)):
        if table not in candidate:
            changes.append(SchemaChange(table, TABLE_REMOVED))
            continue
        if table not in base:
            changes.append(SchemaChange(table, TABLE_ADDED))
            continue
        old, new = _columns(base[table]), _columns(candidate[table])
        for name in sorted(set(old) | set(new)):
            if name not in new:
                changes.append(SchemaChange(table, COLUMN_REMOVED, name, _type_text(old[name]), None))
            elif name not in old:
                changes.append(SchemaChange(table, COLUMN_ADDED, name, None, _type_text(new[name])))
            else:
                if old[name].logical != new[name].logical:
                    changes.append(SchemaChange(table, TYPE_CHANGED, name, _type_text(old[name]),
                                                _type_text(new[name])))
                if old[name].nullable != new[name].nullable:
                    changes.append(SchemaChange(table, NULLABILITY_CHANGED, name, _nullability(old[name]),
                                                _nullability(new[name])))
    return tuple(changes)


def compare_commits(base: Commit | None, candidate: Commit) -> SchemaDriftReport:
    """The drift report of a candidate commit against a base commit.

    Args:
        base: The commit to compare against (None: nothing, i.e. first data).
        candidate: The commit audited.

    Returns:
        The report.
    """
    base_tables = base.tables if base is not None else {}
    return SchemaDriftReport(
        base=base.id if base is not None else None,
        candidate=candidate.id,
        changes=compare_tables(base_tables, candidate.tables),
        first_data=not base_tables,
    )

