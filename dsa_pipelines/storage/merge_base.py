"""The merge base of two commits: their best common ancestor in the commit DAG.

A common ancestor is *best* when no other common ancestor descends from it (git's
definition). Criss-cross histories have several; one is chosen deterministically — the
newest (``created_at``), then the smallest id — and the others are reported.
"""

from __future__ import annotations

from collections import deque

import sqlalchemy as sa

from .catalog.commits import created_at, parent_map


def ancestors(parents: dict[str, tuple[str, ...]], starts: list[str]) -> set[str]:
    """Every commit reachable from ``starts`` (included)."""
    seen: set[str] = set()
    queue = deque(starts)
    while queue:
        cid = queue.popleft()
        if cid in seen:
            continue
        seen.add(cid)
        queue.extend(parents.get(cid, ()))
    return seen


def is_ancestor(parents: dict[str, tuple[str, ...]], ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is ``descendant`` or one of its ancestors."""
    return ancestor in ancestors(parents, [descendant])


def merge_bases(conn: sa.Connection, dataset: str, a: str, b: str) -> list[str]:
    """The best common ancestors of two commits, the chosen one first (empty: unrelated histories)."""
    parents = parent_map(conn, dataset)
    common = ancestors(parents, [a]) & ancestors(parents, [b])
    if not common:
        return []
    below = ancestors(parents, [p for c in common for p in parents.get(c, ())])
    best = sorted(common - below)
    times = created_at(conn, best)
    return sorted(best, key=lambda c: (_neg(times.get(c, "")), c))


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in text)
