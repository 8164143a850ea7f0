"""Ref management from the launchpad: create/delete branches, tag, reset (rollback), and
change a dataset's settings.

Each job is one step that calls the store and shows what moved (``old → new`` commit)
in the step's output metadata and in the run's tags (``dsa/ref``, ``dsa/old``,
``dsa/new``). Bad config — an unknown dataset, an invalid branch or tag name, a revision
that resolves to nothing — fails the run at once with the store's message, and the
store changes nothing.
"""

from collections.abc import Callable
from typing import TypeVar

import dagster as dg
from pydantic import Field

from dsa_pipelines.defs.failures import store_errors
from dsa_pipelines.defs.partitions import partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import DriftPolicy

T = TypeVar("T")

ACTOR_DESCRIPTION = "Who does this (recorded in the reflog)."
REVISION_HELP = ("a branch, a tag, a commit id prefix, main~2 (ancestors), v3 (version number) or "
                 "main@{2026-11-20T10:00} (the branch at a time)")


def _short(commit_id: str | None) -> str:
    return partition_key(commit_id) if commit_id else "(none)"


def _call(action: Callable[[], T]) -> T:
    """Run a store call; a DsaError fails the step with the store's own message."""
    with store_errors():
        return action()


def _moved(context: dg.OpExecutionContext, dataset: str, ref: str, kind: str, old: str | None,
           new: str | None, reason: str) -> dg.Output:
    """Record a ref move in the run's tags and return it as the step's output metadata."""
    move = f"{ref}: {_short(old)} → {_short(new)}"
    context.instance.add_run_tags(context.run_id, {
        "dsa/dataset": dataset, "dsa/ref": ref, "dsa/old": _short(old), "dsa/new": _short(new)})
    context.log.info(f"{dataset} {kind} {move}")
    return dg.Output(None, metadata={
        "dataset": dataset, "ref": ref, "kind": kind, "move": move,
        "old_commit": old or "", "new_commit": new or "", "reason": reason,
    })


# ------------------------------------------------------------------ create_branch
class CreateBranchConfig(dg.Config):
    """A new branch."""

    dataset: str = Field(description="The dataset.")
    name: str = Field(description="The new branch's name (git ref-name rules; '/' groups, e.g. feature/q3).")
    from_revision: str = Field(default="", description=f"Where it starts: {REVISION_HELP}. Empty: the "
                                                       "default branch's head.")
    actor: str = Field(default="dagster", description=ACTOR_DESCRIPTION)


@dg.op(name="create_branch_ref", out=dg.Out(dg.Nothing))
def create_branch_op(context: dg.OpExecutionContext, config: CreateBranchConfig, store: StoreResource) -> dg.Output:
    """Create the branch at the revision."""
    s = store.open()
    ref = _call(lambda: s.create_branch(config.dataset, config.name, config.from_revision or None,
                                        actor=config.actor))
    return _moved(context, config.dataset, ref.name, "branch", None, ref.commit_id,
                  f"branch from {config.from_revision or 'the default branch'}")


@dg.job(name="create_branch", tags={"dsa/kind": "ref"})
def create_branch() -> None:
    """Create a branch of a dataset at a revision (default: the default branch's head)."""
    create_branch_op()


# ------------------------------------------------------------------ delete_branch
class DeleteBranchConfig(dg.Config):
    """The branch to delete."""

    dataset: str = Field(description="The dataset.")
    name: str = Field(description="The branch to delete (never the default branch).")
    reason: str = Field(default="", description="Why (recorded in the reflog).")
    actor: str = Field(default="dagster", description=ACTOR_DESCRIPTION)


@dg.op(name="delete_branch_ref", out=dg.Out(dg.Nothing))
def delete_branch_op(context: dg.OpExecutionContext, config: DeleteBranchConfig, store: StoreResource) -> dg.Output:
    """Delete the branch; its commits stay reachable through the reflog and other refs."""
    s = store.open()
    _call(lambda: s.get_dataset(config.dataset))
    ref = s.get_ref(config.dataset, config.name)
    _call(lambda: s.delete_branch(config.dataset, config.name, actor=config.actor, reason=config.reason))
    return _moved(context, config.dataset, config.name, "branch", ref.commit_id if ref else None, None,
                  config.reason or "delete branch")


@dg.job(name="delete_branch", tags={"dsa/kind": "ref"})
def delete_branch() -> None:
    """Delete a branch of a dataset (the default branch cannot be deleted)."""
    delete_branch_op()


# --------------------------------------------------------------------- create_tag
class CreateTagConfig(dg.Config):
    """A new, immutable tag."""

    dataset: str = Field(description="The dataset.")
    name: str = Field(description="The tag's name, e.g. v1.0 or release/2026-q3. Tags never move.")
    revision: str = Field(default="", description=f"What to tag: {REVISION_HELP}. Empty: the default "
                                                  "branch's head.")
    reason: str = Field(default="", description="Why (recorded in the reflog).")
    actor: str = Field(default="dagster", description=ACTOR_DESCRIPTION)


@dg.op(name="create_tag_ref", out=dg.Out(dg.Nothing))
def create_tag_op(context: dg.OpExecutionContext, config: CreateTagConfig, store: StoreResource) -> dg.Output:
    """Create the tag at the revision."""
    s = store.open()
    ref = _call(lambda: s.create_tag(config.dataset, config.name, config.revision or None, actor=config.actor,
                                     reason=config.reason))
    return _moved(context, config.dataset, ref.name, "tag", None, ref.commit_id, config.reason or "tag")


@dg.job(name="create_tag", tags={"dsa/kind": "ref"})
def create_tag() -> None:
    """Tag a revision of a dataset (a tag never moves and cannot be recreated)."""
    create_tag_op()


# ------------------------------------------------------------------- reset_branch
class ResetBranchConfig(dg.Config):
    """A rollback: point a branch at another revision."""

    dataset: str = Field(description="The dataset.")
    branch: str = Field(description="The branch to move.")
    revision: str = Field(description=f"Where it goes: {REVISION_HELP}.")
    reason: str = Field(description="Why (required; recorded in the reflog, e.g. 'bad upload of 11-20').")
    actor: str = Field(default="dagster", description=ACTOR_DESCRIPTION)


@dg.op(name="reset_branch_ref", out=dg.Out(dg.Nothing))
def reset_branch_op(context: dg.OpExecutionContext, config: ResetBranchConfig, store: StoreResource) -> dg.Output:
    """Move the branch (compare-and-swap); the old head stays in the reflog."""
    s = store.open()
    old, new = _call(lambda: s.reset_branch(config.dataset, config.branch, config.revision, actor=config.actor,
                                            reason=config.reason))
    return _moved(context, config.dataset, config.branch, "branch", old, new, config.reason)


@dg.job(name="reset_branch", tags={"dsa/kind": "ref"})
def reset_branch() -> None:
    """Roll a branch back (or forward) to a revision; the reason is recorded in the reflog."""
    reset_branch_op()


# ----------------------------------------------------------------- update_dataset
class UpdateDatasetConfig(dg.Config):
    """The settings to change (leave a field empty to keep it)."""

    dataset: str = Field(description="The dataset.")
    description: str | None = Field(default=None, description="New description.")
    tags: list[str] | None = Field(default=None, description="New tags (replace the old ones).")
    drift_policy: DriftPolicy | None = Field(
        default=None, description="Schema drift against the branch head: reject the upload, warn, or allow.")


@dg.op(name="update_dataset_settings", out=dg.Out(dg.Nothing))
def update_dataset_op(context: dg.OpExecutionContext, config: UpdateDatasetConfig, store: StoreResource) -> dg.Output:
    """Change the dataset's description, tags or drift policy."""
    s = store.open()
    before = _call(lambda: s.get_dataset(config.dataset))
    after = _call(lambda: s.update_dataset(
        config.dataset, description=config.description, tags=config.tags,
        drift_policy=config.drift_policy.value if config.drift_policy else None))
    changes = {
        field: f"{old!r} → {new!r}"
        for field, old, new in (("description", before.description, after.description),
                                ("tags", list(before.tags), list(after.tags)),
                                ("drift_policy", before.drift_policy, after.drift_policy))
        if old != new
    }
    context.log.info(f"{config.dataset}: {changes or 'no change'}")
    return dg.Output(None, metadata={"dataset": config.dataset, **changes, "changed": ", ".join(changes) or "none"})


@dg.job(name="update_dataset", tags={"dsa/kind": "dataset"})
def update_dataset() -> None:
    """Change a dataset's description, tags or schema-drift policy (reject / warn / allow)."""
    update_dataset_op()


defs = dg.Definitions(jobs=[create_branch, delete_branch, create_tag, reset_branch, update_dataset])
