"""Opening the catalog database and bringing it to the current schema.

The backend is chosen by a SQLAlchemy URL: a SQLite file (WAL, busy timeout; safe for
the many processes Dagster starts), in-memory SQLite (one shared connection), or
PostgreSQL (``postgresql+psycopg2://…``). Alembic migrations run on open, serialised
between processes by a file lock (SQLite) or an advisory lock (PostgreSQL).
"""

from __future__ import annotations

import ast
import fcntl
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from ..errors import InvalidInput

if TYPE_CHECKING:  # alembic is imported only when a migration has to run (it costs ~0.1 s)
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x44534150  # "DSAP"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _alembic_config(connection: sa.Connection) -> Config:
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _head_revision() -> frozenset[str]:
    """The migration heads (features may add independent migration branches), read from the
    version files' ``revision`` / ``down_revision`` assignments without importing alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name == "revision":
                    revisions.add(ast.literal_eval(node.value))
                elif name == "down_revision":
                    value = ast.literal_eval(node.value)
                    parents.update([value] if isinstance(value, str) else value or ())
    return frozenset(revisions - parents)


def _current_revision(connection: sa.Connection) -> frozenset[str]:
    if not sa.inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(r[0] for r in connection.execute(sa.text("SELECT version_num FROM alembic_version")))


def _run_upgrade(connection: sa.Connection) -> None:
    from alembic import command  # noqa: PLC0415

    command.upgrade(_alembic_config(connection), "heads")


def _make_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as e:
        raise InvalidInput(f"catalog URL {url!r} is not a valid SQLAlchemy URL", url=url) from e
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            engine = sa.create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            # Take control of transactions: BEGIN IMMEDIATE for writes avoids the
            # read-then-upgrade deadlock that plain deferred transactions hit.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _upgrade(engine: sa.Engine, lock_path: Path | None) -> None:
    head = _head_revision()
    with engine.connect() as conn:
        if _current_revision(conn) == head:
            return
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            if _current_revision(conn) != head:
                _run_upgrade(conn)
        return
    if lock_path is None:
        with engine.begin() as conn:
            _run_upgrade(conn)
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                if _current_revision(conn) != head:
                    _run_upgrade(conn)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def connect_catalog(url: str) -> sa.Engine:
    """Open the catalog at ``url`` and migrate it to the current schema.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db``, ``sqlite:///:memory:``,
            ``postgresql+psycopg2://user:pw@host/db``).

    Returns:
        A ready SQLAlchemy engine.

    Raises:
        InvalidInput: if the URL cannot be parsed.
    """
    engine = _make_engine(url)
    lock_path = None
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        lock_path = Path(engine.url.database).with_suffix(".migrate.lock")
    _upgrade(engine, lock_path)
    return engine
