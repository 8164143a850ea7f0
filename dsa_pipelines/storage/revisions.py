"""Revision syntax, resolved like git.

=====================  ==========================================================
``main``, ``v1.0``     a branch or a tag (refs win over everything below)
``3f2a9c``             a commit id prefix (at least 4 hex digits, unambiguous)
``v3``                 version 3 of the default branch (first-parent position; the
                       dataset's initial empty commit is v0, the first upload v1)
``feature:v3``         version 3 of branch ``feature``
``main@{1}``           the value ``main`` had one move ago (``@{0}`` = now)
``main@{2026-11-20T10:00:00}``  what ``main`` pointed at then (from the reflog; a time
                       without zone is UTC)
``REV~2``, ``REV^``, ``REV^2``  first parent twice, first parent, second parent
=====================  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .errors import InvalidInput, RevisionNotFound
from .models import format_time

_VERSION = re.compile(r"^v(\d+)$")
_BRANCH_VERSION = re.compile(r"^(.+):v(\d+)$")
_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")
_SUFFIX = re.compile(r"(~\d*|\^\d*)")


@dataclass(frozen=True)
class RevisionContext:
    """What resolving needs from the store (kept abstract so this module stays pure).

    Attributes:
        ref: name -> commit id or None.
        default_branch: the dataset's default branch name.
        by_prefix: hex prefix -> commit id (raises if none or ambiguous).
        parents: commit id -> parent ids in order.
        first_parent_chain: (head, limit or None) -> [head, parent, grandparent, ...], at most
            ``limit`` long (None: down to the root).
        reflog_values: ref name -> [(time, new commit or None)] oldest first.
    """

    ref: Callable[[str], str | None]
    default_branch: str
    by_prefix: Callable[[str], str]
    parents: Callable[[str], tuple[str, ...]]
    first_parent_chain: Callable[[str, int | None], list[str]]
    reflog_values: Callable[[str], list[tuple[str, str | None]]]


def _version(ctx: RevisionContext, branch: str, number: int, revision: str) -> str:
    head = ctx.ref(branch)
    if head is None:
        raise RevisionNotFound(f"revision {revision!r}: branch {branch!r} does not exist", kind="branch", name=branch)
    chain = ctx.first_parent_chain(head, None)
    if number >= len(chain):
        raise RevisionNotFound(
            f"revision {revision!r}: branch {branch!r} has versions v0..v{len(chain) - 1}", kind="version",
            name=revision,
        )
    return chain[len(chain) - 1 - number]


def _reflog_select(ctx: RevisionContext, name: str, selector: str, revision: str) -> str:
    values = ctx.reflog_values(name)
    if not values:
        raise RevisionNotFound(f"revision {revision!r}: {name!r} has no reflog", kind="ref", name=name)
    if selector.isdigit():
        n = int(selector)
        if n >= len(values):
            raise RevisionNotFound(
                f"revision {revision!r}: {name!r} has only {len(values)} reflog entries", kind="ref", name=name
            )
        commit = values[len(values) - 1 - n][1]
    else:
        try:
            moment = datetime.fromisoformat(selector.strip())
        except ValueError as e:
            raise InvalidInput(
                f"revision {revision!r}: {selector!r} is neither a number nor an ISO time "
                "(e.g. 2026-11-20T10:00:00)", name=revision,
            ) from e
        when = format_time(moment)
        earlier = [c for t, c in values if t <= when]
        if not earlier:
            raise RevisionNotFound(f"revision {revision!r}: {name!r} did not exist at {when}", kind="ref", name=name)
        commit = earlier[-1]
    if commit is None:
        raise RevisionNotFound(f"revision {revision!r}: {name!r} was deleted at that point", kind="ref", name=name)
    return commit


def _base(ctx: RevisionContext, base: str, revision: str) -> str:
    if "@{" in base:
        if not base.endswith("}"):
            raise InvalidInput(f"revision {revision!r}: unclosed '@{{'", name=revision)
        name, selector = base[:-1].split("@{", 1)
        return _reflog_select(ctx, name or ctx.default_branch, selector, revision)
    commit = ctx.ref(base)
    if commit is not None:
        return commit
    if m := _BRANCH_VERSION.match(base):
        return _version(ctx, m.group(1), int(m.group(2)), revision)
    if m := _VERSION.match(base):
        return _version(ctx, ctx.default_branch, int(m.group(1)), revision)
    if _HEX.match(base):
        return ctx.by_prefix(base)
    raise RevisionNotFound(f"revision {revision!r} not found: no branch, tag or commit of that name",
                           kind="revision", name=revision)


def ref_name(revision: str) -> str | None:
    """The ref a revision starts from, if it starts from one (``main~2`` → ``main``,
    ``main@{1}`` → ``main``); resolvers use it to fetch that ref with the dataset."""
    if not isinstance(revision, str):
        return None
    revision = revision.strip()
    cut = min([i for i in (revision.find("~"), revision.find("^"), revision.find("@{")) if i >= 0],
              default=len(revision))
    return revision[:cut] or None


def resolve_revision(ctx: RevisionContext, revision: str) -> str:
    """Resolve a revision string to a full commit id.

    Raises:
        RevisionNotFound: nothing matches, or a ~/^ step walks past the root.
        InvalidInput: the revision cannot be parsed.
    """
    if not isinstance(revision, str) or not revision.strip():
        raise InvalidInput("revision is empty", name=revision)
    revision = revision.strip()
    cut = min([i for i in (revision.find("~"), revision.find("^")) if i >= 0], default=len(revision))
    base, suffix = revision[:cut], revision[cut:]
    if _SUFFIX.sub("", suffix):
        raise InvalidInput(f"revision {revision!r}: cannot parse {suffix!r} (use ~N, ^ or ^N)", name=revision)
    commit = _base(ctx, base, revision)
    for step in _SUFFIX.findall(suffix):
        count = int(step[1:]) if len(step) > 1 else 1
        if step[0] == "~":
            if count:
                chain = ctx.first_parent_chain(commit, count + 1)
                if len(chain) <= count:
                    raise RevisionNotFound(f"revision {revision!r} walks past the first commit", name=revision)
                commit = chain[count]
        elif count:
            parents = ctx.parents(commit)
            if len(parents) < count:
                raise RevisionNotFound(f"revision {revision!r}: commit has {len(parents)} parent(s)", name=revision)
            commit = parents[count - 1]
    return commit
