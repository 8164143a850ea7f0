"""Branches and tags of a dataset: create, list, delete, reset (rollback), reflog.

Part of :class:`~dsa_pipelines.storage.repository.Store` (a mixin, to keep modules small).
Every move goes through :class:`~dsa_pipelines.storage.refs.RefStore`'s compare-and-swap.
"""

from __future__ import annotations

from .errors import ImmutableRef, InvalidInput, RevisionNotFound
from .models import Ref, ReflogEntry
from .names import validate_ref_name
from .refs import BRANCH, TAG


class RefsMixin:
    """Ref operations (needs ``engine``, ``refs``, ``get_dataset`` and ``resolve`` from :class:`Store`)."""

    def _branch(self, dataset: str, name: str) -> Ref:
        """The branch, or a clear error if it is missing or is a tag."""
        ref = self.refs.get(dataset, name)
        if ref is None:
            self.get_dataset(dataset)
            raise RevisionNotFound(f"branch {name!r} does not exist in dataset {dataset!r}", kind="branch",
                                   name=name)
        if ref.kind == TAG:
            raise ImmutableRef(f"{name!r} is a tag of dataset {dataset!r}; tags never move", dataset=dataset,
                               name=name)
        return ref

    def branches(self, dataset: str) -> list[Ref]:
        """The dataset's branches."""
        self.get_dataset(dataset)
        return self.refs.list(dataset, BRANCH)

    def tags(self, dataset: str) -> list[Ref]:
        """The dataset's tags."""
        self.get_dataset(dataset)
        return self.refs.list(dataset, TAG)

    def _create_ref(self, dataset: str, name: str, kind: str, revision: str | None, actor: str,
                    reason: str) -> Ref:
        name = validate_ref_name(name, kind)
        target = self.resolve(dataset, revision)
        with self.engine.begin() as conn:
            self.refs.add_if_new(conn, dataset, name, kind, target, actor, reason)
        return self.refs.get(dataset, name)

    def create_branch(self, dataset: str, name: str, revision: str | None = None, *, actor: str = "",
                      reason: str = "") -> Ref:
        """Create a branch at a revision (default: the default branch's head)."""
        return self._create_ref(dataset, name, BRANCH, revision, actor, reason or f"branch from {revision or 'default'}")

    def create_tag(self, dataset: str, name: str, revision: str | None = None, *, actor: str = "",
                   reason: str = "") -> Ref:
        """Create an immutable tag at a revision.

        Raises:
            ImmutableRef: the tag exists already (tags never move).
        """
        return self._create_ref(dataset, name, TAG, revision, actor, reason or "tag")

    def delete_branch(self, dataset: str, name: str, *, actor: str = "", reason: str = "") -> None:
        """Delete a branch (never the default branch)."""
        ds = self.get_dataset(dataset)
        ref = self._branch(dataset, name)
        if name == ds.default_branch:
            raise InvalidInput(f"branch {name!r} is the default branch of {dataset!r} and cannot be deleted")
        with self.engine.begin() as conn:
            self.refs.remove_if_equals(conn, dataset, name, ref.commit_id, actor, reason or "delete branch")

    def reset_branch(self, dataset: str, branch: str, revision: str, *, actor: str = "", reason: str = "",
                     expected: str | None = None) -> tuple[str, str]:
        """Point a branch at an earlier (or any) revision — a rollback, recorded in the reflog.

        Args:
            expected: Only if the branch still points here (default: its current value).

        Returns:
            (old commit id, new commit id).
        """
        if not reason:
            raise InvalidInput("a reset needs a reason (it is recorded in the reflog)")
        self._branch(dataset, branch)
        ref = self.refs.get(dataset, branch)
        target = self.resolve(dataset, revision)
        old = expected or ref.commit_id
        with self.engine.begin() as conn:
            self.refs.set_if_equals(conn, dataset, branch, old, target, actor, f"reset: {reason}")
        return old, target

    def reflog(self, dataset: str, ref: str | None = None, limit: int | None = None) -> list[ReflogEntry]:
        """Moves of one ref (or all refs of the dataset), newest first."""
        self.get_dataset(dataset)
        return self.refs.reflog(dataset, ref, limit)
