"""Dataset lifecycle: soft delete, restore, purge — each recorded in ``dataset_events``.

A soft-deleted dataset keeps everything (its refs stay GC roots) but is hidden from
``list_datasets`` and every read or write of it raises :class:`~.errors.DatasetDeleted`.
``restore_dataset`` undoes it. ``purge_dataset`` (or GC, once the deletion is older than
the reflog retention) removes its catalog rows for good; its objects are then ordinary
garbage, and rows it shares with other datasets stay live through their manifests.
"""

from __future__ import annotations

import sqlalchemy as sa

from .catalog import Catalog
from .catalog.datasets import deleted_error
from .catalog.gc_guard import chunks, hold_sweep_guard
from .catalog.gc_schema import dataset_events
from .catalog.schema import commits, datasets
from .errors import DatasetNotFound, InvalidInput
from .models import utc_now

_KEEP = {"datasets", "dataset_events"}


def dataset_row(conn: sa.Connection, name: str) -> sa.Row:
    """The ``datasets`` row, deleted or not.

    Raises:
        DatasetNotFound: there is none (never created, or purged).
    """
    row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).first()
    if row is None:
        raise DatasetNotFound(f"dataset {name!r} does not exist", kind="dataset", name=name)
    return row


def _event(conn: sa.Connection, name: str, action: str, actor: str, reason: str) -> None:
    conn.execute(dataset_events.insert().values(dataset=name, action=action, actor=actor, reason=reason,
                                                created_at=utc_now()))


def delete_dataset(catalog: Catalog, name: str, *, actor: str, reason: str) -> None:
    """Soft-delete a dataset.

    Raises:
        DatasetNotFound: no such dataset; DatasetDeleted: already deleted; InvalidInput: no reason.
    """
    if not reason or not reason.strip():
        raise InvalidInput("deleting a dataset needs a reason (it is recorded in the audit trail)")
    with catalog.write() as conn:
        row = dataset_row(conn, name)
        if row.deleted_at is not None:
            raise deleted_error(row)
        conn.execute(datasets.update().where(datasets.c.name == name).values(
            deleted_at=utc_now(), deleted_by=actor, delete_reason=reason))
        _event(conn, name, "delete", actor, reason)


def restore_dataset(catalog: Catalog, name: str, *, actor: str = "") -> None:
    """Undo a soft delete (possible until the dataset is purged).

    Raises:
        DatasetNotFound: no such dataset (or purged); InvalidInput: it is not deleted.
    """
    with catalog.write() as conn:
        row = dataset_row(conn, name)
        if row.deleted_at is None:
            raise InvalidInput(f"dataset {name!r} is not deleted", name=name)
        conn.execute(datasets.update().where(datasets.c.name == name).values(
            deleted_at=None, deleted_by=None, delete_reason=None))
        _event(conn, name, "restore", actor, "")


def purge_catalog(catalog: Catalog, name: str, *, actor: str, reason: str) -> None:
    """Remove a soft-deleted dataset's catalog rows (commits, refs, reflog, everything keyed by them).

    Raises:
        DatasetNotFound: no such dataset; InvalidInput: it is not soft-deleted.
    """
    with catalog.write() as conn:
        hold_sweep_guard(conn)
        row = dataset_row(conn, name)
        if row.deleted_at is None:
            raise InvalidInput(f"dataset {name!r} is not deleted; delete it first (purging is for good)",
                               name=name)
        ids = sorted(r.id for r in conn.execute(sa.select(commits.c.id).where(commits.c.dataset == name)))
        meta = sa.MetaData()
        meta.reflect(conn)
        for table in reversed(meta.sorted_tables):
            if table.name in _KEEP or table.name.startswith("gc_"):
                continue
            fk_cols = [fk.parent for fk in table.foreign_keys if fk.column.table.name == "commits"]
            if "dataset" in table.c:
                conn.execute(table.delete().where(table.c.dataset == name))
            for batch in chunks(ids):
                if fk_cols:
                    conn.execute(table.delete().where(sa.or_(*(c.in_(batch) for c in fk_cols))))
                if table.name == "commits":
                    conn.execute(table.delete().where(table.c.id.in_(batch)))
        conn.execute(datasets.delete().where(datasets.c.name == name))
        _event(conn, name, "purge", actor, reason)
