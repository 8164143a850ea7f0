"""Branches and tags of a dataset: create, delete, reset (rollback).

Every move goes through :class:`~.catalog.refs.RefStore`'s compare-and-swap, in the
same transaction as its reflog row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ImmutableRef, InvalidInput, RevisionNotFound
from .models import TAG, Ref
from .names import validate_ref_name

if TYPE_CHECKING:
    from .repository import Store


def branch(store: Store, dataset: str, name: str) -> Ref:
    """The branch, or a clear error if it is missing or is a tag."""
    ref = store.refs.get(dataset, name)
    if ref is None:
        store.get_dataset(dataset)
        raise RevisionNotFound(f"branch {name!r} does not exist in dataset {dataset!r}", kind="branch", name=name)
    if ref.kind == TAG:
        raise ImmutableRef(f"{name!r} is a tag of dataset {dataset!r}; tags never move", dataset=dataset, name=name)
    return ref


def create_ref(store: Store, dataset: str, name: str, kind: str, revision: str | None, actor: str,
               reason: str) -> Ref:
    """Create a branch or tag at a revision (CAS from "absent")."""
    name = validate_ref_name(name, kind)
    target = store.resolve(dataset, revision)
    with store.catalog.write() as conn:
        store.refs.add_if_new(conn, dataset, name, kind, target, actor, reason)
    return store.refs.get(dataset, name)


def delete_branch(store: Store, dataset: str, name: str, actor: str, reason: str) -> None:
    """Delete a branch that is not the default branch."""
    ds = store.get_dataset(dataset)
    ref = branch(store, dataset, name)
    if name == ds.default_branch:
        raise InvalidInput(f"branch {name!r} is the default branch of {dataset!r} and cannot be deleted")
    with store.catalog.write() as conn:
        store.refs.remove_if_equals(conn, dataset, name, ref.commit_id, actor, reason or "delete branch")


def reset_branch(store: Store, dataset: str, name: str, revision: str, actor: str, reason: str,
                 expected: str | None) -> tuple[str, str]:
    """Point a branch at any revision (a rollback), recorded in the reflog.

    Returns:
        (old commit id, new commit id).
    """
    if not reason:
        raise InvalidInput("a reset needs a reason (it is recorded in the reflog)")
    ref = branch(store, dataset, name)
    target = store.resolve(dataset, revision)
    old = expected or ref.commit_id
    with store.catalog.write() as conn:
        store.refs.set_if_equals(conn, dataset, name, old, target, actor, f"reset: {reason}")
    return old, target
