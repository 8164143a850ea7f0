"""Refs: branches and tags, moved only by compare-and-swap, every move in the reflog.

``set_if_equals`` is ``UPDATE refs SET commit_id=:new WHERE … AND commit_id=:expected``;
a row count other than 1 means another writer won and raises :class:`RefConflict`
(retryable). Creation is ``add_if_new`` (an INSERT that must not collide), deletion
``remove_if_equals``. The reflog row is written in the same transaction as the move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..errors import AlreadyExists, ImmutableRef, RefConflict, RevisionNotFound
from ..models import BRANCH, TAG, Ref, ReflogEntry, utc_now
from ..names import MAX_MESSAGE_LENGTH, MAX_NAME_LENGTH, validate_text
from .gc_guard import hold_writer_guard, require_commits
from .schema import reflog, refs

if TYPE_CHECKING:
    from .database import Catalog


def _ref(row: sa.Row) -> Ref:
    return Ref(row.dataset, row.name, row.kind, row.commit_id, row.created_at, row.updated_at)


class RefStore:
    """Compare-and-swap access to the ``refs`` table.

    Args:
        catalog: The catalog database.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def get(self, dataset: str, name: str, conn: sa.Connection | None = None) -> Ref | None:
        """The ref, or None if absent."""
        query = sa.select(refs).where(refs.c.dataset == dataset, refs.c.name == name)
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.catalog.read() as c:
                row = c.execute(query).first()
        return _ref(row) if row else None

    def list(self, dataset: str, kind: str | None = None) -> list[Ref]:
        """All refs of a dataset (optionally one kind), by name."""
        query = sa.select(refs).where(refs.c.dataset == dataset).order_by(refs.c.name)
        if kind:
            query = query.where(refs.c.kind == kind)
        with self.catalog.read() as c:
            return [_ref(r) for r in c.execute(query)]

    def pointing_at(self, dataset: str, commit_id: str) -> list[Ref]:
        """Refs whose value is this commit."""
        query = sa.select(refs).where(refs.c.dataset == dataset, refs.c.commit_id == commit_id)
        with self.catalog.read() as c:
            return [_ref(r) for r in c.execute(query.order_by(refs.c.name))]

    @staticmethod
    def _log(conn: sa.Connection, dataset: str, name: str, kind: str, old: str | None, new: str | None,
             actor: str, reason: str, now: str) -> None:
        validate_text(actor, "actor", MAX_NAME_LENGTH)
        validate_text(reason, "reason", 2 * MAX_MESSAGE_LENGTH)  # "commit: <message>"
        conn.execute(
            reflog.insert().values(
                dataset=dataset, ref_name=name, kind=kind, old_commit=old, new_commit=new,
                actor=actor, reason=reason, created_at=now,
            )
        )

    def add_if_new(self, conn: sa.Connection, dataset: str, name: str, kind: str, commit_id: str,
                   actor: str = "", reason: str = "") -> None:
        """Create a ref inside the caller's transaction.

        Raises:
            AlreadyExists: a ref of that name exists (for a tag: ImmutableRef).
            ObjectCollected: the commit was collected by GC meanwhile.
        """
        hold_writer_guard(conn)
        require_commits(conn, [commit_id])
        existing = self.get(dataset, name, conn)
        if existing is not None:
            if existing.kind == TAG:
                raise ImmutableRef(
                    f"tag {name!r} of dataset {dataset!r} already exists (at {existing.commit_id[:12]}); "
                    "tags never move or get recreated",
                    dataset=dataset, name=name,
                )
            raise AlreadyExists(
                f"{existing.kind} {name!r} already exists in dataset {dataset!r}", kind=existing.kind, name=name
            )
        now = utc_now()
        try:
            with conn.begin_nested():
                conn.execute(
                    refs.insert().values(
                        dataset=dataset, name=name, kind=kind, commit_id=commit_id, created_at=now, updated_at=now
                    )
                )
        except sa.exc.IntegrityError as e:
            raise RefConflict(
                f"{kind} {name!r} of dataset {dataset!r} was created by another writer at the same moment",
                dataset=dataset, name=name,
            ) from e
        self._log(conn, dataset, name, kind, None, commit_id, actor, reason, now)

    def set_if_equals(self, conn: sa.Connection, dataset: str, name: str, expected: str, new: str,
                      actor: str = "", reason: str = "") -> None:
        """Move a branch from ``expected`` to ``new`` inside the caller's transaction.

        Raises:
            RevisionNotFound: no such branch.
            ImmutableRef: the ref is a tag.
            RefConflict: the branch no longer points at ``expected``.
            ObjectCollected: the commit ``new`` was collected by GC meanwhile.
        """
        hold_writer_guard(conn)
        require_commits(conn, [new])
        now = utc_now()
        result = conn.execute(
            refs.update()
            .where(refs.c.dataset == dataset, refs.c.name == name, refs.c.kind == BRANCH,
                   refs.c.commit_id == expected)
            .values(commit_id=new, updated_at=now)
        )
        if result.rowcount != 1:
            # Read only now: on PostgreSQL the UPDATE waited for a competing writer's row
            # lock, so this sees the value that writer committed, not a stale one.
            current = self.get(dataset, name, conn)
            if current is None:
                raise RevisionNotFound(f"branch {name!r} does not exist in dataset {dataset!r}", kind="branch",
                                       name=name)
            if current.kind == TAG:
                raise ImmutableRef(f"{name!r} is a tag; tags never move", dataset=dataset, name=name)
            raise RefConflict(
                f"branch {name!r} of dataset {dataset!r} moved (expected {expected[:12]}, "
                f"now {current.commit_id[:12]}): another writer won; rebuild on the new head and retry",
                dataset=dataset, name=name, expected=expected, actual=current.commit_id,
            )
        self._log(conn, dataset, name, BRANCH, expected, new, actor, reason, now)

    def remove_if_equals(self, conn: sa.Connection, dataset: str, name: str, expected: str,
                         actor: str = "", reason: str = "") -> None:
        """Delete a branch that still points at ``expected``.

        Raises:
            ImmutableRef: the ref is a tag.
            RefConflict: the branch moved meanwhile.
        """
        current = self.get(dataset, name, conn)
        if current is not None and current.kind == TAG:
            raise ImmutableRef(f"{name!r} is a tag; tags are never deleted", dataset=dataset, name=name)
        result = conn.execute(
            refs.delete().where(refs.c.dataset == dataset, refs.c.name == name, refs.c.commit_id == expected)
        )
        if result.rowcount != 1:
            raise RefConflict(f"branch {name!r} moved before it could be deleted", dataset=dataset, name=name)
        self._log(conn, dataset, name, BRANCH, expected, None, actor, reason, utc_now())

    def reflog(self, dataset: str, name: str | None = None, limit: int | None = None, *,
               oldest_first: bool = False, conn: sa.Connection | None = None) -> list[ReflogEntry]:
        """Ref moves of a dataset (or of one of its refs), newest first unless ``oldest_first``."""
        query = sa.select(reflog).where(reflog.c.dataset == dataset)
        query = query.order_by(reflog.c.id if oldest_first else reflog.c.id.desc())
        if name is not None:
            query = query.where(reflog.c.ref_name == name)
        if limit:
            query = query.limit(limit)
        if conn is not None:
            return [reflog_entry(r) for r in conn.execute(query)]
        with self.catalog.read() as c:
            return [reflog_entry(r) for r in c.execute(query)]


def reflog_entry(row: sa.Row) -> ReflogEntry:
    """A ``reflog`` row as a value."""
    return ReflogEntry(row.id, row.dataset, row.ref_name, row.kind, row.old_commit, row.new_commit, row.actor,
                       row.reason, row.created_at)
