"""A dataset's history: resolving revisions, loading commits, the first-parent log.

Everything here reads the catalog in one read transaction per call (never SQLite's
write lock) and in as few statements as the question needs: ``main~2`` is two
statements (the dataset with its ``main`` ref, then a recursive first-parent walk),
``v2`` three.
"""

from __future__ import annotations

import sqlalchemy as sa

from .catalog import Catalog
from .catalog import commits as commit_rows
from .catalog import datasets as dataset_rows
from .catalog.refs import RefStore
from .errors import RevisionNotFound
from .models import Commit, Dataset, LogEntry
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


def log(catalog: Catalog, refs: RefStore, dataset: str, revision: str | None, limit: int | None) -> list[LogEntry]:
    """First-parent history from a revision back to the root, newest first, with version numbers."""
    with catalog.read() as conn:
        head = _Resolver(conn, refs, dataset, revision).resolve(revision)
        chain = commit_rows.first_parent_chain(conn, head)
        shown = chain[:limit] if limit else chain
        found = commit_rows.load_commits(conn, shown)
    return [LogEntry(len(chain) - 1 - i, found[cid]) for i, cid in enumerate(shown)]


def find_commit(catalog: Catalog, prefix: str) -> Commit:
    """The one commit, in any dataset, whose id starts with ``prefix`` (e.g. a partition key)."""
    with catalog.read() as conn:
        dataset, cid = commit_rows.find_by_prefix(conn, prefix)
        return _commit(conn, dataset, cid)
