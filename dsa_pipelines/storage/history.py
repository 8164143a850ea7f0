"""A dataset's history: resolving revisions, loading commits, the first-parent log.

Everything here reads the catalog in one read transaction per call (never SQLite's
write lock) and in as few statements as the question needs: ``main~2`` is two
statements (the dataset with its ``main`` ref, then a recursive first-parent walk),
``v2`` three.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import sqlalchemy as sa

from .catalog import Catalog
from .catalog import commits as commit_rows
from .catalog import datasets as dataset_rows
from .catalog.refs import RefStore
from .errors import RevisionNotFound
from .models import Commit, Dataset, LogEntry, TableInfo
from .revisions import RevisionContext, ref_name, resolve_revision


class _Resolver:
    """Revision resolution over one connection, with the dataset and its refs cached."""

    def __init__(self, conn: sa.Connection, refs: RefStore, dataset: str, revision: str | None) -> None:
        self.conn, self.refs, self.name = conn, refs, dataset
        first = ref_name(revision) if revision else None
        found, commit = dataset_rows.get_with_ref(conn, dataset, first)
        if found is None:
            raise dataset_rows.not_found(dataset)
        self.dataset: Dataset = found
        self._refs: dict[str, str | None] = {first or found.default_branch: commit}

    def ref(self, name: str) -> str | None:
        if name not in self._refs:
            ref = self.refs.get(self.name, name, self.conn)
            self._refs[name] = ref.commit_id if ref else None
        return self._refs[name]

    def by_prefix(self, prefix: str) -> str:
        return commit_rows.find_by_prefix(self.conn, prefix, self.name)[1]

    def reflog_values(self, name: str) -> list[tuple[str, str | None]]:
        return [(e.created_at, e.new_commit)
                for e in self.refs.reflog(self.name, name, oldest_first=True, conn=self.conn)]

    def context(self) -> RevisionContext:
        return RevisionContext(
            ref=self.ref, default_branch=self.dataset.default_branch, by_prefix=self.by_prefix,
            parents=lambda cid: commit_rows.parents_of(self.conn, cid),
            first_parent_chain=lambda head, limit: commit_rows.first_parent_chain(self.conn, head, limit),
            reflog_values=self.reflog_values)

    def resolve(self, revision: str | None) -> str:
        return resolve_revision(self.context(), revision or self.dataset.default_branch)


def resolve(catalog: Catalog, refs: RefStore, dataset: str, revision: str | None) -> str:
    """Resolve a revision of a dataset to a full commit id (see :mod:`.revisions`)."""
    with catalog.read() as conn:
        return _Resolver(conn, refs, dataset, revision).resolve(revision)


def _commit(conn: sa.Connection, dataset: str, commit_id: str) -> Commit:
    found = commit_rows.load_commits(conn, [commit_id]).get(commit_id)
    if found is None or found.dataset != dataset:
        raise RevisionNotFound(f"no commit {commit_id[:12]} in dataset {dataset!r}", kind="commit", name=commit_id)
    return found


def load_commit(catalog: Catalog, refs: RefStore, dataset: str, revision: str | None) -> Commit:
    """The commit a revision names, with its tables (one read transaction)."""
    with catalog.read() as conn:
        return _commit(conn, dataset, _Resolver(conn, refs, dataset, revision).resolve(revision))


class LazyTables(Mapping[str, TableInfo]):
    """A commit's tables, read from the catalog the first time they are looked at.

    Commits never change, so reading later gives exactly what reading now would; a log
    of 10,000 commits that prints one line each never loads 10,000 table lists.
    """

    __slots__ = ("_catalog", "_commit_id", "_tables")

    def __init__(self, catalog: Catalog, commit_id: str) -> None:
        self._catalog, self._commit_id = catalog, commit_id
        self._tables: dict[str, TableInfo] | None = None

    def _load(self) -> dict[str, TableInfo]:
        if self._tables is None:
            with self._catalog.read() as conn:
                self._tables = commit_rows.load_tables(conn, self._commit_id)
        return self._tables

    def __getitem__(self, name: str) -> TableInfo:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return repr(self._tables) if self._tables is not None else f"<tables of {self._commit_id[:12]}, not loaded>"


def log(catalog: Catalog, refs: RefStore, dataset: str, revision: str | None, limit: int | None) -> list[LogEntry]:
    """First-parent history from a revision back to the root, newest first, with version numbers.

    Four statements whatever the history's length; each commit's tables load on first use.
    """
    with catalog.read() as conn:
        head = _Resolver(conn, refs, dataset, revision).resolve(revision)
        shown, length = commit_rows.load_history(conn, head, limit or None,
                                                 lambda cid: LazyTables(catalog, cid))
    return [LogEntry(length - 1 - i, commit) for i, commit in enumerate(shown)]


def find_commit(catalog: Catalog, prefix: str) -> Commit:
    """The one commit, in any dataset, whose id starts with ``prefix`` (e.g. a partition key)."""
    with catalog.read() as conn:
        dataset, cid = commit_rows.find_by_prefix(conn, prefix)
        return _commit(conn, dataset, cid)
