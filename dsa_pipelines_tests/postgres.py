"""A real, throwaway PostgreSQL server for tests, and fresh databases on it.

The server is either the one named by ``DSA_TEST_POSTGRES_URL`` (an admin URL whose
user may ``CREATE DATABASE``) or a private cluster started with `pgserver`_ (PyPI;
ships the PostgreSQL binaries, starts in about a second, listens on a Unix socket
only). Every test gets its own empty database, so tests never see each other's
tables and need no cleanup of their own.

This module knows nothing about pytest; ``conftest.py`` turns
:class:`PostgresUnavailable` into a skip (locally) or a failure (``CI=true``).

pgserver notes (0.1.4):
  * Running as root, it runs PostgreSQL as a system user ``pgserver`` (created with
    ``useradd`` if missing) and adds ``g+rx,o+rx`` to every parent directory of the
    data directory and of its own binaries.
  * Its inter-process lock file lives under ``platformdirs.user_runtime_path()``,
    computed when the module is imported; without ``XDG_RUNTIME_DIR`` that import
    warns (``RuntimeDirWarning``). :func:`start_pgserver` sets ``XDG_RUNTIME_DIR``
    (if unset) around the import to ``<tmp>/dsa-pgrun-<uid>``, a 0700 directory kept
    across sessions (the lock is shared by concurrent sessions, as pgserver intends).
  * The socket is ``<pgdata>/.s.PGSQL.5432``; Unix socket paths are limited to about
    107 bytes, so the data directory lives under a short temporary path.
  * It registers an ``atexit`` handler that stops the server;
    :meth:`PostgresServer.close` stops it explicitly and unregisters the handler.
    Neither runs if the test process is killed, and the postmaster outlives it. So
    each server directory records its owner (pid and start time), and
    :func:`start_pgserver` first stops servers whose owner is gone and removes their
    directories.

.. _pgserver: https://pypi.org/project/pgserver/
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ENV_URL = "DSA_TEST_POSTGRES_URL"
"""Environment variable naming an existing server to use instead of pgserver."""

DRIVER_SCHEME = "postgresql+psycopg2"

_PREFIX = "dsapg"
_OWNER_FILE = "owner.json"

# Unix socket paths are limited to ~107 bytes; pgdata/.s.PGSQL.5432 adds ~36.
_MAX_TEMP_BASE = 50


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be provided; the message says why."""


def to_driver_url(url: str) -> str:
    """Return ``url`` with the scheme SQLAlchemy needs for psycopg2.

    Args:
        url: A ``postgres://``, ``postgresql://`` or ``postgresql+<driver>://`` URL.

    Returns:
        The same URL with the scheme ``postgresql+psycopg2``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"{DRIVER_SCHEME}://{rest}"


@dataclass
class PostgresServer:
    """A PostgreSQL server on which tests create and drop fresh databases.

    Attributes:
        admin_url: SQLAlchemy URL (``postgresql+psycopg2``) of a maintenance database.
        origin: Where the server comes from: ``"pgserver"`` or ``ENV_URL``.
    """

    admin_url: str
    origin: str
    _on_close: Callable[[], None] = field(default=lambda: None, repr=False)
    _engine: sa.Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> sa.Engine:
        """An autocommit engine on the maintenance database (for CREATE/DROP DATABASE)."""
        if self._engine is None:
            self._engine = sa.create_engine(
                self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
            )
        return self._engine

    def check(self) -> None:
        """Connect once, so a dead server is reported before any test uses it.

        Raises:
            PostgresUnavailable: The server does not answer.
        """
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as e:
            raise PostgresUnavailable(
                f"cannot connect to PostgreSQL at {self._safe_url()} ({self.origin}): {e}"
            ) from e

    def create_database(self) -> str:
        """Create an empty database with a unique name.

        Returns:
            Its SQLAlchemy URL (``postgresql+psycopg2://``).
        """
        name = f"dsa_test_{uuid.uuid4().hex[:16]}"
        with self.engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return sa.make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing its connections."""
        name = sa.make_url(url).database
        if not name or not name.startswith("dsa_test_"):
            raise ValueError(f"refusing to drop a database this helper did not create: {name!r}")
        with self.engine.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))

    def close(self) -> None:
        """Release the admin engine and stop the server if this process started it."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._on_close()

    def _safe_url(self) -> str:
        return sa.make_url(self.admin_url).render_as_string(hide_password=True)


def open_server() -> PostgresServer:
    """Return the test server: ``DSA_TEST_POSTGRES_URL`` if set, else a new pgserver.

    Raises:
        PostgresUnavailable: The server cannot be reached or started.
    """
    url = os.environ.get(ENV_URL, "").strip()
    server = connect_server(url) if url else start_pgserver()
    try:
        server.check()
    except PostgresUnavailable:
        server.close()
        raise
    return server


def connect_server(url: str) -> PostgresServer:
    """Use an existing server given by an admin URL (its user needs CREATEDB)."""
    try:
        return PostgresServer(admin_url=to_driver_url(url), origin=ENV_URL)
    except ValueError as e:
        raise PostgresUnavailable(f"{ENV_URL} is not a PostgreSQL URL: {e}") from e


def start_pgserver() -> PostgresServer:
    """Start a private PostgreSQL cluster with pgserver under a short temporary path.

    Raises:
        PostgresUnavailable: pgserver is missing or the cluster does not start.
    """
    base = _short_temp_base()
    reap_orphans(Path(base))
    workdir = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base))
    (workdir / _OWNER_FILE).write_text(json.dumps(_process_identity(os.getpid())))
    try:
        with _runtime_dir(Path(base)):
            import pgserver  # noqa: PLC0415 - imported late: needs XDG_RUNTIME_DIR set
        server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
    except ImportError as e:
        shutil.rmtree(workdir, ignore_errors=True)
        raise PostgresUnavailable(f"pgserver is not installed ({e}); pip install pgserver") from e
    except Exception as e:  # pgserver raises bare errors (CalledProcessError, AssertionError...)
        log = workdir / "pgdata" / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
        raise PostgresUnavailable(
            f"pgserver could not start PostgreSQL in {workdir}: {type(e).__name__}: {e}\n{tail}"
        ) from e

    def stop() -> None:
        server.cleanup()
        atexit.unregister(server._cleanup)  # noqa: SLF001 - else atexit re-takes the lock
        shutil.rmtree(workdir, ignore_errors=True)

    return PostgresServer(
        admin_url=to_driver_url(server.get_uri()), origin="pgserver", _on_close=stop
    )


def reap_orphans(base: Path) -> list[Path]:
    """Stop servers left by test processes that died, and delete their directories.

    Only directories made by :func:`start_pgserver` (``dsapg*`` with an owner file)
    whose owner process no longer exists are touched.

    Returns:
        The directories removed.
    """
    try:
        import psutil  # noqa: PLC0415 - a pgserver dependency
    except ImportError:
        return []
    removed = []
    for workdir in base.glob(f"{_PREFIX}*"):
        try:
            owner = json.loads((workdir / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if _process_identity(owner["pid"]) == owner:
            continue  # its test session is still running
        pgdata = workdir / "pgdata"
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            pid = int((pgdata / "postmaster.pid").read_text().split()[0])
            postmaster = psutil.Process(pid)
            if f"-D {pgdata}" in " ".join(postmaster.cmdline()):
                postmaster.send_signal(2)  # SIGINT: PostgreSQL's fast shutdown
                try:
                    postmaster.wait(10)
                except psutil.TimeoutExpired:
                    postmaster.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def _process_identity(pid: int) -> dict[str, float | int | None]:
    """A pid with its start time, so a reused pid is not mistaken for the owner."""
    try:
        import psutil  # noqa: PLC0415 - a pgserver dependency
    except ImportError:
        return {"pid": pid, "started": None}
    try:
        return {"pid": pid, "started": psutil.Process(pid).create_time()}
    except psutil.Error:
        return {"pid": pid, "started": None}


def _short_temp_base() -> str:
    base = tempfile.gettempdir()
    if len(base) > _MAX_TEMP_BASE and os.path.isdir("/tmp"):
        return "/tmp"
    return base


@contextlib.contextmanager
def _runtime_dir(base: Path) -> Iterator[None]:
    """Set ``XDG_RUNTIME_DIR`` (if unset) while pgserver computes its runtime path."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        yield
        return
    path = base / f"dsa-pgrun-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_uid != os.getuid():  # someone else's: do not share it
        path = Path(tempfile.mkdtemp(prefix="dsa-pgrun-", dir=base))
    os.environ["XDG_RUNTIME_DIR"] = str(path)
    try:
        yield
    finally:
        del os.environ["XDG_RUNTIME_DIR"]
