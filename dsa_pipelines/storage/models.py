"""Value types returned by the store. All frozen; ids are hex SHA-256."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

BRANCH = "branch"
"""Ref kind: a branch (moves by compare-and-swap)."""
TAG = "tag"
"""Ref kind: a tag (never moves)."""


def utc_now() -> str:
    """The current time as the catalog's ISO-8601 UTC text."""
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC text with microseconds; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def schema_to_text(schema: pa.Schema) -> str:
    """Serialise an Arrow schema (IPC bytes, base64)."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def schema_from_text(text: str) -> pa.Schema:
    """Inverse of :func:`schema_to_text`."""
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


@dataclass(frozen=True)
class Dataset:
    """A named, versioned dataset."""

    name: str
    description: str
    tags: tuple[str, ...]
    created_by: str
    created_at: str
    default_branch: str
    drift_policy: str
    settings: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a table: Arrow type, logical (hashing) type, null count."""

    name: str
    type: str
    logical: str
    nulls: int

    @property
    def nullable(self) -> bool:
        """Whether the column holds any null in this version."""
        return self.nulls > 0


@dataclass(frozen=True)
class TableInfo:
    """One table of a commit."""

    name: str
    row_count: int
    manifest_id: str
    content_id: str
    schema: pa.Schema = field(hash=False, compare=False)
    columns: tuple[ColumnInfo, ...] = ()
    stats: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Commit:
    """An immutable snapshot of a dataset's tables plus its place in history."""

    id: str
    dataset: str
    parents: tuple[str, ...]
    message: str
    author: str
    created_at: str
    tree_id: str
    row_count: int
    tables: Mapping[str, TableInfo] = field(hash=False, compare=False)
    run_id: str | None = None
    meta: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def short_id(self) -> str:
        """The 12-character abbreviation (also the Dagster partition key)."""
        return self.id[:12]


@dataclass(frozen=True)
class TableResult:
    """What one table of an upload contributed."""

    name: str
    rows: int
    new_rows: int
    reused_rows: int
    stored_rows: int
    changed: bool
    schema: pa.Schema = field(hash=False, compare=False)


@dataclass(frozen=True)
class CommitResult:
    """The outcome of a commit call.

    ``status`` is ``"committed"`` (the branch moved), ``"staged"`` (a commit no branch
    points to yet, for write-audit-publish) or ``"no_changes"`` (nothing differed from
    the branch head; ``commit_id`` is the head and no commit was created).
    """

    status: str
    dataset: str
    branch: str
    commit_id: str
    parents: tuple[str, ...]
    tables: dict[str, TableResult]
    removed_tables: tuple[str, ...] = ()
    attempts: int = 1

    @property
    def changed(self) -> bool:
        """Whether a commit was created."""
        return self.status != "no_changes"

    @property
    def short_id(self) -> str:
        """The 12-character abbreviation of the commit id."""
        return self.commit_id[:12]


@dataclass(frozen=True)
class LogEntry:
    """One commit of a first-parent history, with its version number (root = v0)."""

    version: int
    commit: Commit


@dataclass(frozen=True)
class Ref:
    """A branch or a tag."""

    dataset: str
    name: str
    kind: str
    commit_id: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ReflogEntry:
    """One move of a ref: who moved it, when, why, from where to where."""

    id: int
    dataset: str
    ref_name: str
    kind: str
    old_commit: str | None
    new_commit: str | None
    actor: str
    reason: str
    created_at: str


@dataclass(frozen=True)
class TablePage:
    """A window of a table's rows in upload order, with the table's total row count."""

    table: pa.Table = field(hash=False, compare=False)
    offset: int
    total: int

    def to_pandas(self):  # noqa: ANN201 — pandas is optional for the caller's typing
        """The rows as a pandas DataFrame."""
        return self.table.to_pandas()
