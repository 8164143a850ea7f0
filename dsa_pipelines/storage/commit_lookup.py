"""Finding a commit by id prefix across all datasets (e.g. from a Dagster partition key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from .catalog.schema import commits
from .commits import load_commits
from .errors import AmbiguousRevision, InvalidInput, RevisionNotFound

if TYPE_CHECKING:
    from .models import Commit
    from .repository import Store

MIN_PREFIX = 4
_HEX = frozenset("0123456789abcdef")


def find_commit(store: Store, prefix: str) -> Commit:
    """The one commit, in any dataset, whose id starts with ``prefix``.

    Args:
        store: The store.
        prefix: At least 4 hex digits (a partition key is 12).

    Returns:
        The commit with its tables.

    Raises:
        InvalidInput: the prefix is not 4..64 hex digits.
        RevisionNotFound: no commit matches.
        AmbiguousRevision: several commits match (they are listed).
    """
    prefix = (prefix or "").strip().lower()
    if not MIN_PREFIX <= len(prefix) <= 64 or not set(prefix) <= _HEX:
        raise InvalidInput(f"commit id prefix {prefix!r} must be {MIN_PREFIX} to 64 hex digits", name=prefix)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(commits.c.id, commits.c.dataset).where(commits.c.id.like(f"{prefix}%"))
                            .order_by(commits.c.id).limit(5)).all()
        if not rows:
            raise RevisionNotFound(f"no commit {prefix!r} in any dataset", kind="commit", name=prefix)
        if len(rows) > 1:
            raise AmbiguousRevision(f"commit prefix {prefix!r} is ambiguous: "
                                    + ", ".join(f"{r.dataset}@{r.id[:12]}" for r in rows), name=prefix)
        return load_commits(conn, [rows[0].id])[rows[0].id]
