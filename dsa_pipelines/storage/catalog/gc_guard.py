"""The writers' half of the GC protocol: what every commit insert and ref move does so that
garbage collection, running at the same time, never deletes what it is about to reference.

In the transaction that inserts a commit or moves a ref, a writer:

1. takes the *sweep guard* shared (PostgreSQL: ``pg_advisory_xact_lock_shared``; on SQLite
   every write transaction is ``BEGIN IMMEDIATE`` and so already excludes the sweep);
2. checks that the commits it points at (parents, ref target) still exist;
3. records the commit and every manifest and pack it references in ``gc_registrations``;
4. checks that none of them is tombstoned and that their files exist.

GC takes the same guard exclusively for its sweep transaction, in which it first marks
every registration and reflog entry newer than its snapshot, then tombstones what is
still dead. So either the writer's transaction commits first (and GC sees it as a root),
or GC's does (and the writer sees the tombstones and fails with the retryable
:class:`~dsa_pipelines.storage.errors.ObjectCollected`). See ``docs/gc.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..errors import ObjectCollected
from ..models import Commit, utc_now
from ..objects import ObjectStore
from .gc_schema import gc_registrations, gc_tombstones
from .schema import commits

SWEEP_LOCK_KEY = 0x44534147  # "DSAG": writers shared, the GC sweep exclusive (transaction scope)
RUN_LOCK_KEY = 0x44534752  # "DSGR": one GC run at a time (session scope)
CHUNK = 500  # ids per IN (...) list: well under every backend's bound-parameter limit


def chunks(ids: Iterable[str], size: int = CHUNK) -> Iterable[list[str]]:
    """Split ids into lists of at most ``size``."""
    batch: list[str] = []
    for i in ids:
        batch.append(i)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def hold_writer_guard(conn: sa.Connection) -> None:
    """Take the sweep guard shared for the rest of the caller's transaction (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": SWEEP_LOCK_KEY})


def hold_sweep_guard(conn: sa.Connection) -> None:
    """Take the sweep guard exclusively for the rest of the caller's transaction (GC only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK_KEY})


def require_commits(conn: sa.Connection, ids: Iterable[str]) -> None:
    """Raise ObjectCollected if any of these commits is gone from the catalog."""
    wanted = set(ids)
    if not wanted:
        return
    found = set()
    for batch in chunks(sorted(wanted)):
        found.update(r.id for r in conn.execute(sa.select(commits.c.id).where(commits.c.id.in_(batch))))
    missing = sorted(wanted - found)
    if missing:
        raise ObjectCollected(
            f"commit {missing[0][:12]} no longer exists (collected by garbage collection); retry on the current head",
            kind="commit", object_id=missing[0])


def register_commit(conn: sa.Connection, commit: Commit, packs: Iterable[str] = (),
                    objects: ObjectStore | None = None) -> None:
    """Record a new commit's references and check none of them was collected.

    Args:
        conn: The transaction inserting the commit (the writer guard is held).
        commit: The commit.
        packs: Row packs its manifests reference (known to the writer; GC reads the
            manifests of registered commits anyway, this lets the writer check them).
        objects: The object store, to check the referenced files exist.

    Raises:
        ObjectCollected: a referenced object was tombstoned or deleted by GC (retryable).
    """
    now = utc_now()
    refs = [("manifests", t.manifest_id) for t in commit.tables.values()] + [("packs", p) for p in set(packs)]
    rows = [{"commit_id": commit.id, "kind": "commit", "object_id": commit.id, "created_at": now}]
    rows += [{"commit_id": commit.id, "kind": kind, "object_id": oid, "created_at": now}
             for kind, oid in dict.fromkeys(refs)]
    conn.execute(gc_registrations.insert(), rows)
    ids = sorted({oid for _, oid in refs})
    for batch in chunks(ids):
        hit = conn.execute(sa.select(gc_tombstones.c.kind, gc_tombstones.c.object_id)
                           .where(gc_tombstones.c.object_id.in_(batch))).first()
        if hit is not None:
            raise ObjectCollected(
                f"{hit.kind} object {hit.object_id} is being collected by garbage collection; ingest again and retry",
                kind=hit.kind, object_id=hit.object_id)
    if objects is not None:
        for kind, oid in refs:
            if not objects.exists(kind, oid):
                raise ObjectCollected(f"{kind} object {oid} was collected by garbage collection; ingest again",
                                      kind=kind, object_id=oid)
