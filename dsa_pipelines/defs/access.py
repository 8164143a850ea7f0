"""Who may do what, from the launchpad — and the ``datasets`` overview asset.

Jobs ``grant_permission``, ``revoke_permission`` and ``protect_branch`` call the store as
the run's user (see :mod:`dsa_pipelines.defs.resources`): only a dataset's admins may
run them successfully; anyone else's run fails with the store's ``PermissionDenied``
message, and the refusal is in the audit trail. (The ``datasets`` overview asset, a table
of every dataset the code location's user may read, lives in :mod:`.datasets`.)
"""

import dagster as dg
from pydantic import Field

from dsa_pipelines.defs.failures import store_errors
from dsa_pipelines.defs.resources import StoreResource


# ------------------------------------------------------------------ grant_permission
class GrantConfig(dg.Config):
    """A permission to give."""

    dataset: str = Field(description="The dataset.")
    user: str = Field(description="Who gets it (a registered user).")
    level: str = Field(default="read", description="read, write or admin.")


@dg.op(name="grant_permission_op", out=dg.Out(dg.Nothing))
def grant_permission_op(context: dg.OpExecutionContext, config: GrantConfig, store: StoreResource) -> dg.Output:
    """Give the user the level on the dataset (replacing their previous level)."""
    s = store.open()
    with store_errors("grant refused"):
        granted = s.grant(config.dataset, config.user, config.level)
    context.log.info(f"{s.user} granted {granted.level} on {config.dataset} to {granted.user}")
    return dg.Output(None, metadata={"dataset": config.dataset, "user": granted.user, "level": granted.level,
                                     "granted_by": s.user})


@dg.job(name="grant_permission", tags={"dsa/kind": "access"})
def grant_permission() -> None:
    """Give a user read, write or admin on a dataset (the dataset's admins only)."""
    grant_permission_op()


# ----------------------------------------------------------------- revoke_permission
class RevokeConfig(dg.Config):
    """A permission to remove."""

    dataset: str = Field(description="The dataset.")
    user: str = Field(description="Whose permission to remove (never the dataset's last admin).")


@dg.op(name="revoke_permission_op", out=dg.Out(dg.Nothing))
def revoke_permission_op(context: dg.OpExecutionContext, config: RevokeConfig, store: StoreResource) -> dg.Output:
    """Remove the user's grant on the dataset."""
    s = store.open()
    with store_errors("revoke refused"):
        s.revoke(config.dataset, config.user)
    context.log.info(f"{s.user} revoked {config.user} on {config.dataset}")
    return dg.Output(None, metadata={"dataset": config.dataset, "user": config.user, "revoked_by": s.user})


@dg.job(name="revoke_permission", tags={"dsa/kind": "access"})
def revoke_permission() -> None:
    """Remove a user's permission on a dataset (the dataset's admins only)."""
    revoke_permission_op()


# -------------------------------------------------------------------- protect_branch
class ProtectConfig(dg.Config):
    """A branch protection rule."""

    dataset: str = Field(description="The dataset.")
    branch: str = Field(default="main", description="The branch to protect.")
    require_merge: bool = Field(default=True, description="Move only by merge (off: the dataset's admins may "
                                                          "also commit to it directly).")
    allow_reset: bool = Field(default=False, description="Allow resets (rollbacks) of the branch.")
    allow_delete: bool = Field(default=False, description="Allow deleting the branch.")
    remove: bool = Field(default=False, description="Remove the branch's protection instead.")


@dg.op(name="protect_branch_op", out=dg.Out(dg.Nothing))
def protect_branch_op(context: dg.OpExecutionContext, config: ProtectConfig, store: StoreResource) -> dg.Output:
    """Protect (or unprotect) the branch."""
    s = store.open()
    with store_errors("protection refused"):
        if config.remove:
            s.unprotect_branch(config.dataset, config.branch)
            return dg.Output(None, metadata={"dataset": config.dataset, "branch": config.branch,
                                             "protected": False})
        rule = s.protect_branch(config.dataset, config.branch, require_merge=config.require_merge,
                                allow_reset=config.allow_reset, allow_delete=config.allow_delete)
    context.log.info(f"{s.user} protected {config.dataset}/{config.branch}")
    return dg.Output(None, metadata={"dataset": config.dataset, "branch": rule.branch, "protected": True,
                                     "require_merge": rule.require_merge, "allow_reset": rule.allow_reset,
                                     "allow_delete": rule.allow_delete})


@dg.job(name="protect_branch", tags={"dsa/kind": "access"})
def protect_branch() -> None:
    """Protect a branch of a dataset: it moves only by merge; resets and deletion refused unless allowed."""
    protect_branch_op()


defs = dg.Definitions(jobs=[grant_permission, revoke_permission, protect_branch])
