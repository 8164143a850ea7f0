"""Who acts on the store: users and their store-wide role.

A store is opened *as* someone (``Store.open(user=...)``, default ``$DSA_USER``, else the
OS login name). There are no passwords: the deployment authenticates (the OS for the
CLI, a reverse proxy or Dagster+ for the UI) and hands the store a name; the store
authorises (:mod:`.access`). A name opening the store for the first time is registered
with role ``user`` — or ``admin`` when it is the store's first user or is listed in
``$DSA_ADMIN``. Admins bypass every dataset permission check.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .catalog.access_tables import users
from .errors import InvalidInput, InvalidName, UserNotFound
from .models import utc_now
from .names import validate_dataset_name

USER = "user"
ADMIN = "admin"
ROLES = (USER, ADMIN)


@dataclass(frozen=True)
class User:
    """A registered user of the store."""

    name: str
    display_name: str
    role: str
    created_by: str
    created_at: str


def validate_user_name(name: str) -> str:
    """Check a user name: the dataset naming rules (no spaces, no ``/``, at most 200 characters).

    Raises:
        InvalidName: naming the rule the name breaks.
    """
    if not isinstance(name, str):
        raise InvalidName(f"user name must be text, got {type(name).__name__}", kind="user", name=name)
    try:
        validate_dataset_name(name)
    except InvalidName as e:
        raise InvalidName(str(e).replace("invalid dataset name", "invalid user name", 1), kind="user",
                          name=name) from e
    return name


def validate_role(role: str) -> str:
    """A role name (``user`` or ``admin``).

    Raises:
        InvalidInput: an unknown role.
    """
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}", role=role)
    return role


def _user(row: sa.Row) -> User:
    return User(row.name, row.display_name, row.role, row.created_by, row.created_at)


def get(conn: sa.Connection, name: str) -> User | None:
    """The user, or None."""
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def require(conn: sa.Connection, name: str) -> User:
    """The user.

    Raises:
        InvalidName: the name breaks the naming rules; UserNotFound: no such user.
    """
    found = get(conn, validate_user_name(name))
    if found is None:
        raise UserNotFound(f"user {name!r} is not registered in this store (create it with create_user, or let "
                           "the user open the store once)", kind="user", name=name)
    return found


def sign_in(conn: sa.Connection, name: str, admins: frozenset[str]) -> User:
    """Register a user on first use, in the caller's write transaction.

    Returns:
        The user (an admin when first in the store or listed in ``admins``).
    """
    validate_user_name(name)
    found = get(conn, name)
    if found is not None:
        return found
    first = conn.execute(sa.select(users.c.name).limit(1)).first() is None
    return insert(conn, name, "", ADMIN if first or name in admins else USER, "sign-in")


def insert(conn: sa.Connection, name: str, display_name: str, role: str, created_by: str) -> User:
    """Create a user row (IntegrityError if it exists)."""
    row = {"name": validate_user_name(name), "display_name": display_name, "role": validate_role(role),
           "created_by": created_by, "created_at": utc_now()}
    conn.execute(users.insert().values(**row))
    return User(**row)


def list_all(conn: sa.Connection) -> list[User]:
    """All users, by name."""
    return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]


def set_role(conn: sa.Connection, name: str, role: str) -> User:
    """Change a user's role; the store keeps at least one admin.

    Raises:
        UserNotFound, InvalidInput (unknown role, or demoting the last admin).
    """
    validate_role(role)
    user = require(conn, name)
    if user.role == ADMIN and role != ADMIN:
        admins = conn.execute(sa.select(sa.func.count()).select_from(users).where(users.c.role == ADMIN)).scalar()
        if admins <= 1:
            raise InvalidInput(f"{name!r} is the store's last admin; make another admin first", user=name)
    conn.execute(users.update().where(users.c.name == name).values(role=role))
    return require(conn, name)
