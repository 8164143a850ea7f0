"""Datasets in the catalog: the only SQL over the ``datasets`` table."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from ..errors import AlreadyExists, DatasetDeleted, DatasetNotFound
from ..models import Dataset
from .schema import datasets, refs


def deleted_error(row: sa.Row) -> DatasetDeleted:
    """The error for using a soft-deleted dataset (who deleted it, when, why, how to restore)."""
    why = f" ({row.delete_reason})" if row.delete_reason else ""
    return DatasetDeleted(
        f"dataset {row.name!r} was deleted by {row.deleted_by or 'someone'} at {row.deleted_at}{why}; "
        f"restore it with restore_dataset({row.name!r})",
        kind="dataset", name=row.name, deleted_by=row.deleted_by, deleted_at=row.deleted_at)


def _dataset(row: sa.Row) -> Dataset:
    """The dataset of a row; a soft-deleted one is refused (DatasetDeleted)."""
    if row.deleted_at is not None:
        raise deleted_error(row)
    return Dataset(row.name, row.description, tuple(json.loads(row.tags)), row.created_by, row.created_at,
                   row.default_branch, row.drift_policy, json.loads(row.settings))


def get(conn: sa.Connection, name: str) -> Dataset | None:
    """The dataset, or None."""
    row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).first()
    return _dataset(row) if row else None


def not_found(name: str) -> DatasetNotFound:
    """The error for a dataset that does not exist."""
    return DatasetNotFound(f"dataset {name!r} does not exist", kind="dataset", name=name)


def require(conn: sa.Connection, name: str) -> Dataset:
    """The dataset.

    Raises:
        DatasetNotFound: no such dataset.
    """
    found = get(conn, name)
    if found is None:
        raise not_found(name)
    return found


def get_with_ref(conn: sa.Connection, name: str, ref: str | None) -> tuple[Dataset | None, str | None]:
    """The dataset and the commit of one of its refs (``ref=None``: the default branch), in one statement.

    Returns:
        (dataset or None, the ref's commit id or None).
    """
    ref_name = datasets.c.default_branch if ref is None else sa.literal(ref, sa.String)
    query = (sa.select(datasets, refs.c.commit_id.label("ref_commit"))
             .select_from(datasets.outerjoin(refs, sa.and_(refs.c.dataset == datasets.c.name,
                                                          refs.c.name == ref_name)))
             .where(datasets.c.name == name))
    row = conn.execute(query).first()
    return (_dataset(row), row.ref_commit) if row else (None, None)


def list_all(conn: sa.Connection) -> list[Dataset]:
    """All datasets that are not soft-deleted, by name."""
    query = sa.select(datasets).where(datasets.c.deleted_at.is_(None)).order_by(datasets.c.name)
    return [_dataset(r) for r in conn.execute(query)]


def insert(conn: sa.Connection, *, name: str, description: str, tags: Sequence[str], created_by: str,
           created_at: str, drift_policy: str, default_branch: str = "main") -> None:
    """Create the dataset row in the caller's transaction.

    Raises:
        AlreadyExists: a dataset of that name exists (also when another writer just made it).
    """
    existing = conn.execute(sa.select(datasets.c.deleted_at).where(datasets.c.name == name)).first()
    if existing is not None:
        hint = " (soft-deleted: restore or purge it)" if existing.deleted_at else ""
        raise AlreadyExists(f"dataset {name!r} already exists{hint}", kind="dataset", name=name)
    try:
        with conn.begin_nested():
            conn.execute(datasets.insert().values(
                name=name, description=description, tags=json.dumps(list(tags)), created_by=created_by,
                created_at=created_at, default_branch=default_branch, drift_policy=drift_policy, settings="{}"))
    except sa.exc.IntegrityError as e:
        raise AlreadyExists(f"dataset {name!r} already exists", kind="dataset", name=name) from e


def update(conn: sa.Connection, name: str, *, description: str | None = None, tags: Sequence[str] | None = None,
           drift_policy: str | None = None, settings: dict | None = None) -> None:
    """Change the given fields of a dataset row."""
    values: dict = {}
    if description is not None:
        values["description"] = description
    if tags is not None:
        values["tags"] = json.dumps(list(tags))
    if drift_policy is not None:
        values["drift_policy"] = drift_policy
    if settings is not None:
        values["settings"] = json.dumps(dict(settings), sort_keys=True)
    if values:
        conn.execute(datasets.update().where(datasets.c.name == name).values(**values))
