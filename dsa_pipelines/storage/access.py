"""Who may do what: per-dataset levels, the table of operations, and the one check.

Every public :class:`~.repository.Store` method is declared in :data:`OPERATIONS` with
the level it needs and is wrapped by :func:`operation`, which checks that level before
the method runs, records mutating actions and every denial in the audit trail
(:mod:`.audit`), and lets calls nested inside an authorised operation through without a
second look. A method cannot be wrapped with a name missing from the table, and a test
checks that every public method is wrapped — so no operation exists without a level.

Levels per dataset: ``read`` < ``write`` < ``admin``. The creator of a dataset gets
``admin``; a dataset may be readable by everyone (the principal ``*``); store admins
(role ``admin``, or listed in ``$DSA_ADMIN``) bypass the checks. Operations on a dataset
that does not exist are let through so that they raise ``DatasetNotFound``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

from . import audit
from .catalog.access_tables import grants, users
from .catalog.schema import datasets
from .errors import DsaError, InvalidInput, NotFound, PermissionDenied
from .identity import ADMIN as ADMIN_ROLE
from .identity import require as require_user
from .models import utc_now

if TYPE_CHECKING:
    from .repository import Store


class Level(IntEnum):
    """A permission level on one dataset (higher includes lower)."""

    READ = 1
    WRITE = 2
    ADMIN = 3


PUBLIC = "*"
"""The principal standing for every user (a ``read`` grant to it makes a dataset public)."""
DATASET = "dataset"  # the rule's level applies to the dataset argument
STORE = "store"  # a store-wide operation: ``level`` None = any registered user, ADMIN = store admin
FILTERED = "filtered"  # any user; the operation returns only what the user may read
RESULT = "result"  # the level applies to the dataset of what the operation finds (checked by the method)


@dataclass(frozen=True)
class Rule:
    """What an operation needs: a level at a scope, and whether it changes the store (audited)."""

    level: Level | None
    scope: str = DATASET
    mutates: bool = False
    dataset_arg: str = "dataset"
    store_admin_without_dataset: bool = False  # dataset=None: a store admin's question


_R, _W, _A = Rule(Level.READ), Rule(Level.WRITE, mutates=True), Rule(Level.ADMIN, mutates=True)

OPERATIONS: Mapping[str, Rule] = {
    # datasets
    "create_dataset": Rule(None, STORE, mutates=True, dataset_arg="name"),
    "get_dataset": Rule(Level.READ, dataset_arg="name"),
    "list_datasets": Rule(None, FILTERED),
    "update_dataset": Rule(Level.WRITE, mutates=True, dataset_arg="name"),
    "update_dataset_policy": Rule(Level.ADMIN, mutates=True, dataset_arg="name"),
    # history and tables
    "resolve": _R, "get_commit": _R, "find_commit": Rule(Level.READ, RESULT), "log": _R, "schema_drift": _R,
    "list_tables": _R, "table_info": _R, "manifest": _R, "read_table": _R, "read_rows": _R,
    "iter_batches": _R, "export": _R,
    # commits
    "commit": _W, "publish": _W, "commit_rows": _W, "commit_selections": _W,
    # refs
    "branch": _R, "get_ref": _R, "refs_at": _R, "branches": _R, "tags": _R, "reflog": _R,
    "create_branch": _W, "create_tag": _W, "delete_branch": _W, "reset_branch": _A,
    # feeds and extension points (features check datasets through the methods they call)
    "new_commits": Rule(None, FILTERED), "new_ref_moves": Rule(None, FILTERED),
    "catalog_read": Rule(None, STORE), "catalog_write": Rule(None, STORE), "put_report": Rule(None, STORE),
    "read_report": Rule(None, STORE), "report_path": Rule(None, STORE), "has_report": Rule(None, STORE),
    # users, permissions, protection, audit
    "current_user": Rule(None, STORE), "list_users": Rule(None, STORE),
    "create_user": Rule(Level.ADMIN, STORE, mutates=True), "set_role": Rule(Level.ADMIN, STORE, mutates=True),
    "grant": _A, "revoke": _A, "set_public_read": _A, "permissions": _R,
    "protect_branch": _A, "unprotect_branch": _A, "protections": _R,
    "audit_log": Rule(Level.ADMIN, store_admin_without_dataset=True),
    "export_audit_log": Rule(Level.ADMIN, store_admin_without_dataset=True),
    # search
    "search": Rule(None, FILTERED), "suggest": Rule(None, FILTERED),
    # garbage collection, integrity, lifecycle, key index
    "gc": Rule(Level.ADMIN, STORE, mutates=True), "fsck": Rule(Level.ADMIN, STORE),
    "delete_dataset": Rule(Level.ADMIN, mutates=True, dataset_arg="name"),
    "restore_dataset": Rule(Level.ADMIN, mutates=True, dataset_arg="name"),
    "purge_dataset": Rule(Level.ADMIN, mutates=True, dataset_arg="name"),
    "live_index_runs": Rule(None, STORE), "compact_key_index": Rule(Level.ADMIN, STORE, mutates=True),
    "reports_root": Rule(None, STORE),
    # keys, diff, merge, edits (a merge moves a protected branch; its CAS passes move="merge")
    "table_key": _R, "set_table_key": _A, "diff": _R,
    "merge": _W, "edit": _W, "revert": _W, "cherry_pick": _W,
}
"""Every public Store operation and what it needs. The permission-matrix test is generated from it."""


def parse_level(level: str | Level) -> Level:
    """``read`` / ``write`` / ``admin`` as a :class:`Level`.

    Raises:
        InvalidInput: an unknown level.
    """
    if isinstance(level, Level):
        return level
    try:
        return Level[str(level).upper()]
    except KeyError:
        raise InvalidInput(f"unknown permission level {level!r}: use read, write or admin", level=level) from None


# ------------------------------------------------------------------- the check
@dataclass(frozen=True)
class Standing:
    """The acting user's standing for one check: store admin, level on the dataset, dataset exists."""

    admin: bool
    registered: bool
    level: int
    exists: bool


def standing(conn: sa.Connection, user: str, admins: frozenset[str], dataset: str | None) -> Standing:
    """The user's role and level on a dataset, in one statement."""
    role = sa.select(users.c.role).where(users.c.name == user).scalar_subquery()
    if dataset is None:
        found = conn.execute(sa.select(role)).scalar()
        return Standing(found == ADMIN_ROLE or user in admins, found is not None, 0, False)
    level = (sa.select(sa.func.max(grants.c.level))
             .where(grants.c.dataset == dataset, grants.c.principal.in_([user, PUBLIC])).scalar_subquery())
    exists = sa.select(datasets.c.name).where(datasets.c.name == dataset).scalar_subquery()
    row = conn.execute(sa.select(role.label("role"), level.label("level"), exists.label("exists"))).one()
    return Standing(row.role == ADMIN_ROLE or user in admins, row.role is not None, row.level or 0,
                    row.exists is not None)


def _deny(user: str, dataset: str | None, operation: str, needed: str, has: str) -> PermissionDenied:
    where = f" on dataset {dataset!r}" if dataset is not None else ""
    return PermissionDenied(f"user {user!r} may not {operation}{where}: it needs {needed} (has {has})",
                            user=user, dataset=dataset, operation=operation, needed=needed)


def check(store: Store, operation: str, dataset: str | None) -> None:
    """Refuse the operation unless the store's user has the level it needs.

    Raises:
        PermissionDenied: naming user, dataset, operation and the level needed.
    """
    rule = OPERATIONS[operation]
    dataset = dataset if rule.scope in (DATASET, RESULT) else None
    with store.catalog.read() as conn:
        me = standing(conn, store.user, store.admins, dataset)
    if me.admin:
        return
    if rule.scope == FILTERED or (rule.scope == STORE and rule.level is None) or (
            rule.scope == RESULT and dataset is None):
        if not me.registered:
            raise _deny(store.user, None, operation, "a registered user", "no account")
        return
    if rule.scope == STORE or dataset is None:
        raise _deny(store.user, dataset, operation, "the store admin role", "role user")
    if not me.exists or me.level >= rule.level:
        return
    raise _deny(store.user, dataset, operation, f"{rule.level.name.lower()} permission",
                Level(me.level).name.lower() if me.level else "no permission")


def authorise(store: Store, operation: str, dataset: str | None, *, params: dict | None = None,
              target: str | None = None, run_id: str | None = None) -> None:
    """:func:`check`, recording a denial in the audit trail (its own transaction) before raising it.

    Raises:
        PermissionDenied: the user lacks the level.
    """
    try:
        check(store, operation, dataset)
    except PermissionDenied as e:
        audit.record(store.catalog, user=store.user, action=operation, dataset=dataset, outcome=audit.DENIED,
                     params=params, detail=str(e), run_id=run_id or store.run_id, target=target)
        e.audited = True
        raise


def readable_filter(conn: sa.Connection, store: Store, column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """A SQL condition on a dataset-name column: the datasets the store's user may read."""
    if standing(conn, store.user, store.admins, None).admin:
        return sa.true()
    return column.in_(sa.select(grants.c.dataset).where(grants.c.principal.in_([store.user, PUBLIC])))


def readable(store: Store, names: list[str]) -> set[str]:
    """Which of these datasets the store's user may read."""
    if not names:
        return set()
    with store.catalog.read() as conn:
        if standing(conn, store.user, store.admins, None).admin:
            return set(names)
        rows = conn.execute(sa.select(grants.c.dataset).where(
            grants.c.dataset.in_(sorted(set(names))), grants.c.principal.in_([store.user, PUBLIC])))
        return {r.dataset for r in rows}


# ------------------------------------------------------------- the decorator
@dataclass(frozen=True)
class _Active:
    store: int
    dataset: str | None
    level: int


_ACTIVE: contextvars.ContextVar[_Active | None] = contextvars.ContextVar("dsa_active_operation", default=None)
_TARGET_ARGS = ("branch", "user", "name", "revision", "commit_id", "ref", "table", "prefix", "query")
_NOT_PARAMS = frozenset({"self", "sources", "row_ids", "selections", "meta", "settings"})
F = TypeVar("F", bound=Callable)


def _params(bound: inspect.BoundArguments, dataset_arg: str) -> dict:
    out = {}
    for key, value in bound.arguments.items():
        if key in _NOT_PARAMS or key == dataset_arg:
            continue
        if isinstance(value, str):
            out[key] = value[:200]
        elif isinstance(value, (bool, int, float)) or value is None:
            out[key] = value
        elif isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
            out[key] = list(value)[:50]
    return out


def _target(bound: inspect.BoundArguments, dataset_arg: str, result: object) -> str | None:
    commit_id = getattr(result, "commit_id", None)
    if isinstance(commit_id, str):
        return commit_id
    for key in _TARGET_ARGS:
        value = bound.arguments.get(key)
        if key != dataset_arg and isinstance(value, str):
            return value
    return None


def operation(name: str) -> Callable[[F], F]:
    """Wrap a Store method as the operation ``name`` of :data:`OPERATIONS` (KeyError if undeclared)."""
    rule = OPERATIONS[name]

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def guarded(store: Store, *args: object, **kwargs: object) -> object:
            bound = signature.bind(store, *args, **kwargs)
            dataset = bound.arguments.get(rule.dataset_arg)  # checked only for dataset scope; always audited
            dataset = dataset if isinstance(dataset, str) else None
            active = _ACTIVE.get()
            if active is not None and active.store == id(store) and (
                    rule.scope != DATASET or (active.dataset == dataset and active.level >= (rule.level or 0))):
                return fn(store, *args, **kwargs)
            run_id = bound.arguments.get("run_id") or store.run_id
            authorise(store, name, dataset, params=_params(bound, rule.dataset_arg),
                      target=_target(bound, rule.dataset_arg, None), run_id=run_id)
            level = int(rule.level) if rule.scope == DATASET and dataset else 0
            token = _ACTIVE.set(_Active(id(store), dataset, level))
            try:
                result = fn(store, *args, **kwargs)
            except DsaError as e:
                if (rule.mutates or isinstance(e, PermissionDenied)) and not getattr(e, "audited", False):
                    audit.record(store.catalog, user=store.user, action=name, dataset=dataset,
                                 outcome=audit.DENIED if isinstance(e, PermissionDenied) else audit.FAILED,
                                 params=_params(bound, rule.dataset_arg), detail=str(e), run_id=run_id,
                                 target=_target(bound, rule.dataset_arg, None))
                raise
            finally:
                _ACTIVE.reset(token)
            if rule.mutates:
                audit.record(store.catalog, user=store.user, action=name, dataset=dataset, run_id=run_id,
                             params=_params(bound, rule.dataset_arg), target=_target(bound, rule.dataset_arg, result))
            return result

        guarded.operation = name
        return guarded  # type: ignore[return-value]

    return wrap


# ------------------------------------------------------------------- grants
@dataclass(frozen=True)
class Grant:
    """One user's level on a dataset."""

    user: str
    level: str
    granted_by: str
    granted_at: str


@dataclass(frozen=True)
class Permissions:
    """Who may do what on one dataset."""

    dataset: str
    public_read: bool
    grants: tuple[Grant, ...]


def _put(conn: sa.Connection, dataset: str, principal: str, level: Level, by: str) -> None:
    conn.execute(grants.delete().where(grants.c.dataset == dataset, grants.c.principal == principal))
    conn.execute(grants.insert().values(dataset=dataset, principal=principal, level=int(level), granted_by=by,
                                        granted_at=utc_now()))


def _admins(conn: sa.Connection, dataset: str) -> set[str]:
    rows = conn.execute(sa.select(grants.c.principal).where(grants.c.dataset == dataset,
                                                            grants.c.level == int(Level.ADMIN)))
    return {r.principal for r in rows}


def grant_creator(conn: sa.Connection, dataset: str, user: str, public_read: bool) -> None:
    """The creator of a dataset becomes its admin (in the creating transaction)."""
    _put(conn, dataset, user, Level.ADMIN, user)
    if public_read:
        _put(conn, dataset, PUBLIC, Level.READ, user)


def grant(conn: sa.Connection, dataset: str, user: str, level: str | Level, by: str) -> Grant:
    """Give a registered user a level on a dataset (replacing their previous level).

    Raises:
        UserNotFound, InvalidInput (unknown level; demoting the dataset's last admin).
    """
    new = parse_level(level)
    require_user(conn, user)
    if new != Level.ADMIN and _admins(conn, dataset) == {user}:
        raise InvalidInput(f"{user!r} is the last admin of dataset {dataset!r}; grant admin to someone else first",
                           dataset=dataset, user=user)
    _put(conn, dataset, user, new, by)
    return Grant(user, new.name.lower(), by, utc_now())


def revoke(conn: sa.Connection, dataset: str, user: str) -> None:
    """Remove a user's grant on a dataset.

    Raises:
        UserNotFound, NotFound (no grant), InvalidInput (the dataset's last admin).
    """
    require_user(conn, user)
    if _admins(conn, dataset) == {user}:
        raise InvalidInput(f"{user!r} is the last admin of dataset {dataset!r}; grant admin to someone else first",
                           dataset=dataset, user=user)
    removed = conn.execute(grants.delete().where(grants.c.dataset == dataset, grants.c.principal == user))
    if removed.rowcount != 1:
        raise NotFound(f"user {user!r} has no grant on dataset {dataset!r}", kind="grant", name=user)


def set_public_read(conn: sa.Connection, dataset: str, public: bool, by: str) -> None:
    """Make a dataset readable by every user, or not."""
    conn.execute(grants.delete().where(grants.c.dataset == dataset, grants.c.principal == PUBLIC))
    if public:
        _put(conn, dataset, PUBLIC, Level.READ, by)


def permissions(conn: sa.Connection, dataset: str) -> Permissions:
    """The grants of a dataset, by user."""
    rows = list(conn.execute(sa.select(grants).where(grants.c.dataset == dataset).order_by(grants.c.principal)))
    return Permissions(dataset, any(r.principal == PUBLIC for r in rows),
                       tuple(Grant(r.principal, Level(r.level).name.lower(), r.granted_by, r.granted_at)
                             for r in rows if r.principal != PUBLIC))


def forget(conn: sa.Connection, dataset: str) -> None:
    """Drop every grant of a dataset (for dataset deletion)."""
    conn.execute(grants.delete().where(grants.c.dataset == dataset))
