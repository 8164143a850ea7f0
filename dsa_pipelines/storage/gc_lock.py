"""One garbage collection at a time, serialised through the catalog (never a file lock).

PostgreSQL: a session-level advisory lock held on a dedicated connection for the whole
run (released by the server if the process dies). SQLite: a row in ``gc_lock`` naming
the holder (host, pid, nonce) with a heartbeat; a row whose process is dead (same host)
or whose heartbeat is older than ``STALE_AFTER`` is taken over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Self

import sqlalchemy as sa

from .catalog import Catalog
from .catalog.gc_guard import RUN_LOCK_KEY
from .catalog.gc_schema import gc_lock
from .errors import GcBusy
from .models import format_time, utc_now

LOCK_NAME = "gc"
STALE_AFTER = timedelta(minutes=10)
POLL_SECONDS = 0.2


def _alive(holder: str) -> bool:
    """Whether the process named by a holder string may still run (only decidable on this host)."""
    host, pid, _ = (holder.split(":") + ["", "", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class GcLock:
    """The GC run lock as a context manager.

    Args:
        catalog: The catalog.
        timeout: Seconds to wait for another run to finish (None: wait for ever).
    """

    def __init__(self, catalog: Catalog, timeout: float | None = None) -> None:
        self.catalog = catalog
        self.timeout = timeout
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._conn: sa.Connection | None = None

    def acquire(self) -> None:
        """Wait for the lock (at most ``timeout`` seconds).

        Raises:
            GcBusy: another run held it for longer than the timeout.
        """
        if self.catalog.dialect == "postgresql":
            self._acquire_advisory()
        else:
            self._acquire_row()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _acquire_advisory(self) -> None:
        conn = self.catalog.engine.connect()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RUN_LOCK_KEY}).scalar():
            conn.rollback()
            if deadline is not None and time.monotonic() > deadline:
                conn.close()
                raise GcBusy("another garbage collection is running (PostgreSQL advisory lock held)", holder="")
            time.sleep(POLL_SECONDS)
        conn.commit()
        self._conn = conn

    def _acquire_row(self) -> None:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            now = utc_now()
            with self.catalog.write() as conn:
                row = conn.execute(sa.select(gc_lock).where(gc_lock.c.name == LOCK_NAME)).first()
                stale_before = format_time(datetime.now(UTC) - STALE_AFTER)
                if row is not None and (not _alive(row.holder) or row.heartbeat_at < stale_before):
                    conn.execute(gc_lock.delete().where(gc_lock.c.name == LOCK_NAME, gc_lock.c.holder == row.holder))
                    row = None
                if row is None:
                    conn.execute(gc_lock.insert().values(name=LOCK_NAME, holder=self.holder, acquired_at=now,
                                                         heartbeat_at=now))
                    return
            if deadline is not None and time.monotonic() > deadline:
                raise GcBusy(f"another garbage collection is running ({row.holder}, since {row.acquired_at})",
                             holder=row.holder)
            time.sleep(POLL_SECONDS)

    def heartbeat(self) -> None:
        """Show the holder is alive (SQLite lock row)."""
        if self._conn is None:
            with self.catalog.write() as conn:
                conn.execute(gc_lock.update().where(gc_lock.c.name == LOCK_NAME, gc_lock.c.holder == self.holder)
                             .values(heartbeat_at=utc_now()))

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
            return
        with self.catalog.write() as conn:
            conn.execute(gc_lock.delete().where(gc_lock.c.name == LOCK_NAME, gc_lock.c.holder == self.holder))
