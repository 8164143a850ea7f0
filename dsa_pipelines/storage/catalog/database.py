"""The catalog database: opening it, its transactions, and migrating it to the current schema.

The backend is chosen by a SQLAlchemy URL: a SQLite file (WAL, busy timeout; safe for
the many processes Dagster starts), in-memory SQLite (one shared connection), or
PostgreSQL (``postgresql+psycopg2://…``). Alembic migrations run on open, serialised
between processes by a file lock (SQLite) or an advisory lock (PostgreSQL).

Transactions come from :class:`Catalog`: :meth:`Catalog.read` for reads and
:meth:`Catalog.write` for writes. On SQLite a write begins with ``BEGIN IMMEDIATE``
(it takes the single write lock up front, so two writers never deadlock upgrading a
read lock); a read begins with a plain deferred ``BEGIN``, which in WAL mode reads a
snapshot and never waits for a writer.
"""

from __future__ import annotations

import ast
import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
_WRITE = "dsa_write"  # execution option marking a write transaction


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
        def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
            # Take control of transactions: BEGIN IMMEDIATE for writes avoids the
            # read-then-upgrade deadlock that plain deferred transactions hit.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")  # SQLITE_BUSY_TIMEOUT_MS
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _upgrade(engine: sa.Engine, lock_path: Path | None) -> None:
    head = _head_revision()
    with engine.connect() as conn:
        if _current_revision(conn) == head:
            return
    if engine.dialect.name == "postgresql":
        with _write(engine) as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            if _current_revision(conn) != head:
                _run_upgrade(conn)
        return
    if lock_path is None:
        with _write(engine) as conn:
            _run_upgrade(conn)
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with _write(engine) as conn:
                if _current_revision(conn) != head:
                    _run_upgrade(conn)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def _write(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
        yield conn


def insert_once(conn: sa.Connection, statements: Callable[[], None]) -> bool:
    """Run inserts of content-addressed rows that another writer may be inserting at the same moment.

    Check-then-insert is not enough on PostgreSQL: two READ COMMITTED writers both see the
    row absent, and the second INSERT fails on the primary key once the first commits. The
    inserts run in a savepoint; a duplicate key means the row is there — the same content,
    since its key is its hash — and leaves the caller's transaction intact.

    Returns:
        True if this call inserted the rows, False if another writer had.
    """
    try:
        with conn.begin_nested():
            statements()
    except sa.exc.IntegrityError:
        return False
    return True


class Catalog:
    """The catalog database: the small, mutable, transactional part of the store.

    SQL for the core tables lives in this package's modules (``datasets``, ``commits``,
    ``refs``, ``feeds``), each a set of functions over a connection that a
    :meth:`read` or :meth:`write` transaction gives.

    Args:
        engine: A SQLAlchemy engine made by :func:`connect_catalog`.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Catalog:
        """Open (and migrate) the catalog at a SQLAlchemy URL."""
        return cls(connect_catalog(url))

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction (never takes SQLite's write lock)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction, committed when the block ends without an exception."""
        with _write(self.engine) as conn:
            yield conn

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


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
