"""Protected branches (lakeFS-style): rules checked inside the compare-and-swap's transaction.

A protected branch with ``require_merge`` moves only by merge; without it, direct moves
(commits, publishes) are allowed to the dataset's admins. It is reset only if
``allow_reset`` and deleted only if ``allow_delete``. The rule is read in the same write
transaction as the ref update (:class:`~.catalog.refs.RefStore` calls :func:`check` as its
guard), so a protection added while a writer is between reading the head and moving the
branch still refuses the move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .access import Level, standing
from .catalog.access_tables import protected_branches
from .errors import BranchProtected, InvalidInput
from .models import utc_now

if TYPE_CHECKING:
    from .repository import Store

MOVES = ("commit", "merge", "reset", "delete")


@dataclass(frozen=True)
class Protection:
    """The rule of one protected branch."""

    dataset: str
    branch: str
    require_merge: bool
    allow_reset: bool
    allow_delete: bool
    created_by: str
    created_at: str


def _protection(row: sa.Row) -> Protection:
    return Protection(row.dataset, row.branch, bool(row.require_merge), bool(row.allow_reset),
                      bool(row.allow_delete), row.created_by, row.created_at)


def get(conn: sa.Connection, dataset: str, branch: str) -> Protection | None:
    """The branch's protection, or None."""
    row = conn.execute(sa.select(protected_branches).where(
        protected_branches.c.dataset == dataset, protected_branches.c.branch == branch)).first()
    return _protection(row) if row else None


def list_for(conn: sa.Connection, dataset: str) -> list[Protection]:
    """The protected branches of a dataset, by branch."""
    rows = conn.execute(sa.select(protected_branches).where(protected_branches.c.dataset == dataset)
                        .order_by(protected_branches.c.branch))
    return [_protection(r) for r in rows]


def protect(conn: sa.Connection, dataset: str, branch: str, *, require_merge: bool, allow_reset: bool,
            allow_delete: bool, by: str) -> Protection:
    """Protect a branch (replacing its previous rule), in the caller's transaction."""
    conn.execute(protected_branches.delete().where(protected_branches.c.dataset == dataset,
                                                   protected_branches.c.branch == branch))
    row = {"dataset": dataset, "branch": branch, "require_merge": bool(require_merge),
           "allow_reset": bool(allow_reset), "allow_delete": bool(allow_delete), "created_by": by,
           "created_at": utc_now()}
    conn.execute(protected_branches.insert().values(**row))
    return Protection(**row)


def unprotect(conn: sa.Connection, dataset: str, branch: str) -> bool:
    """Remove a branch's protection; whether there was one."""
    return conn.execute(protected_branches.delete().where(protected_branches.c.dataset == dataset,
                                                          protected_branches.c.branch == branch)).rowcount == 1


def check(store: Store, conn: sa.Connection, dataset: str, branch: str, move: str) -> None:
    """Refuse a move the branch's protection does not allow (inside the move's transaction).

    Raises:
        BranchProtected: naming user, dataset, branch, the move and the rule.
    """
    if move not in MOVES:
        raise InvalidInput(f"unknown kind of branch move {move!r}: one of {', '.join(MOVES)}")
    rule = get(conn, dataset, branch)
    if rule is None or move == "merge":
        return
    if move == "commit" and not rule.require_merge:
        me = standing(conn, store.user, store.admins, dataset)
        if me.admin or me.level >= Level.ADMIN:
            return
        why = "is protected: only the dataset's admins move it directly, others merge into it"
    elif move == "commit":
        why = "is protected and moves only by merge"
    elif move == "reset" and rule.allow_reset:
        return
    elif move == "reset":
        why = "is protected against resets"
    elif rule.allow_delete:
        return
    else:
        why = "is protected against deletion"
    raise BranchProtected(f"branch {branch!r} of dataset {dataset!r} {why} (refused {move} by {store.user!r})",
                          user=store.user, dataset=dataset, branch=branch, operation=move, needed="a merge",
                          rule=rule)
