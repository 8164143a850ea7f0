"""Commits in the catalog: writing them (with parents and tables), reading them back,
finding one by id prefix, and walking first-parent history in one statement."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import sqlalchemy as sa

from ..errors import AmbiguousRevision, InvalidInput, RevisionNotFound
from ..models import ColumnInfo, Commit, TableInfo, schema_from_text, schema_to_text
from .schema import OID, commit_parents, commit_tables, commits

MIN_PREFIX = 4
"""The shortest commit id prefix accepted anywhere (git's default is 4 too)."""

_HEX = frozenset("0123456789abcdef")
_CHUNK = 5_000  # ids per IN (...) list: well under every backend's bind-parameter limit


def insert_commit(conn: sa.Connection, commit: Commit) -> None:
    """Write a commit, its parents and its tables in the caller's transaction (idempotent)."""
    if conn.execute(sa.select(commits.c.id).where(commits.c.id == commit.id)).first():
        return
    conn.execute(
        commits.insert().values(
            id=commit.id, dataset=commit.dataset, tree_id=commit.tree_id, message=commit.message,
            author=commit.author, created_at=commit.created_at, row_count=commit.row_count,
            run_id=commit.run_id, meta=json.dumps(commit.meta, sort_keys=True),
        )
    )
    if commit.parents:
        conn.execute(
            commit_parents.insert(),
            [{"commit_id": commit.id, "position": i, "parent_id": p} for i, p in enumerate(commit.parents)],
        )
    if commit.tables:
        conn.execute(
            commit_tables.insert(),
            [
                {
                    "commit_id": commit.id, "name": t.name, "manifest_id": t.manifest_id,
                    "content_id": t.content_id, "row_count": t.row_count, "arrow_schema": schema_to_text(t.schema),
                    "columns": json.dumps([c.__dict__ for c in t.columns]),
                    "stats": json.dumps(t.stats, sort_keys=True),
                }
                for t in commit.tables.values()
            ],
        )


@lru_cache(maxsize=1024)
def _schema(text: str):  # noqa: ANN202 — a pa.Schema; versions of a table share one text
    return schema_from_text(text)


@lru_cache(maxsize=1024)
def _columns(text: str) -> tuple[ColumnInfo, ...]:
    return tuple(ColumnInfo(**c) for c in json.loads(text))


def _table_info(row: sa.Row) -> TableInfo:
    return TableInfo(
        name=row.name, row_count=row.row_count, manifest_id=row.manifest_id, content_id=row.content_id,
        schema=_schema(row.arrow_schema), columns=_columns(row.columns), stats=json.loads(row.stats),
    )


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def load_commits(conn: sa.Connection, ids: Sequence[str]) -> dict[str, Commit]:
    """Load full commits (with parents and tables) by id; unknown ids are left out."""
    rows: list[sa.Row] = []
    parents: dict[str, list[tuple[int, str]]] = {}
    tables: dict[str, dict[str, TableInfo]] = {}
    for part in _chunks(list(dict.fromkeys(ids))):
        rows += conn.execute(sa.select(commits).where(commits.c.id.in_(part))).all()
        for r in conn.execute(sa.select(commit_parents).where(commit_parents.c.commit_id.in_(part))):
            parents.setdefault(r.commit_id, []).append((r.position, r.parent_id))
        for r in conn.execute(sa.select(commit_tables).where(commit_tables.c.commit_id.in_(part))
                              .order_by(commit_tables.c.commit_id, commit_tables.c.name)):
            tables.setdefault(r.commit_id, {})[r.name] = _table_info(r)
    return {
        r.id: Commit(
            id=r.id, dataset=r.dataset, parents=tuple(p for _, p in sorted(parents.get(r.id, []))),
            message=r.message, author=r.author, created_at=r.created_at, tree_id=r.tree_id,
            row_count=r.row_count, tables=tables.get(r.id, {}), run_id=r.run_id, meta=json.loads(r.meta),
        )
        for r in rows
    }


def parents_of(conn: sa.Connection, commit_id: str) -> tuple[str, ...]:
    """A commit's parent ids in order (one statement)."""
    rows = conn.execute(sa.select(commit_parents.c.parent_id).where(commit_parents.c.commit_id == commit_id)
                        .order_by(commit_parents.c.position))
    return tuple(r.parent_id for r in rows)


def first_parent_chain(conn: sa.Connection, head: str, limit: int | None = None) -> list[str]:
    """``[head, parent, grandparent, ..., root]`` along first parents, in one recursive query.

    Args:
        head: Where to start.
        limit: At most this many commits (``limit=3`` is enough for ``head~2``).
    """
    start = sa.select(sa.cast(sa.literal(head), OID).label("id"), sa.literal(0).label("depth"))
    chain = start.cte("chain", recursive=True)
    step = (sa.select(commit_parents.c.parent_id, chain.c.depth + 1)
            .where(commit_parents.c.commit_id == chain.c.id, commit_parents.c.position == 0))
    if limit is not None:
        step = step.where(chain.c.depth < limit - 1)
    chain = chain.union_all(step)
    return [r.id for r in conn.execute(sa.select(chain.c.id).order_by(chain.c.depth))]


def check_prefix(prefix: str) -> str:
    """A commit id prefix, lowercased and validated.

    Raises:
        InvalidInput: it is not 4..64 hex digits.
    """
    prefix = (prefix or "").strip().lower()
    if not MIN_PREFIX <= len(prefix) <= 64 or not set(prefix) <= _HEX:
        raise InvalidInput(f"commit id prefix {prefix!r} must be {MIN_PREFIX} to 64 hex digits", name=prefix)
    return prefix


def find_by_prefix(conn: sa.Connection, prefix: str, dataset: str | None = None) -> tuple[str, str]:
    """The unique commit whose id starts with ``prefix``, in one dataset or in any.

    Returns:
        (dataset, full commit id).

    Raises:
        InvalidInput: the prefix is not 4..64 hex digits.
        RevisionNotFound: none matches.
        AmbiguousRevision: several match (they are listed).
    """
    prefix = check_prefix(prefix)
    query = sa.select(commits.c.id, commits.c.dataset).where(commits.c.id.like(prefix + "%"))
    if dataset is not None:
        query = query.where(commits.c.dataset == dataset)
    rows = conn.execute(query.order_by(commits.c.id).limit(5)).all()
    where = f"dataset {dataset!r}" if dataset is not None else "any dataset"
    if not rows:
        raise RevisionNotFound(f"no commit {prefix!r} in {where}", kind="commit", name=prefix)
    if len(rows) > 1:
        listed = ", ".join(r.id[:12] if dataset else f"{r.dataset}@{r.id[:12]}" for r in rows)
        raise AmbiguousRevision(f"commit prefix {prefix!r} is ambiguous in {where}: {listed}", name=prefix)
    return rows[0].dataset, rows[0].id


def parent_map(conn: sa.Connection, dataset: str) -> dict[str, tuple[str, ...]]:
    """Every commit of a dataset mapped to its parents in order (one statement; for merge-base walks)."""
    query = (sa.select(commit_parents.c.commit_id, commit_parents.c.position, commit_parents.c.parent_id)
             .join(commits, commits.c.id == commit_parents.c.commit_id).where(commits.c.dataset == dataset)
             .order_by(commit_parents.c.commit_id, commit_parents.c.position))
    out: dict[str, list[str]] = {}
    for r in conn.execute(query):
        out.setdefault(r.commit_id, []).append(r.parent_id)
    return {k: tuple(v) for k, v in out.items()}


def created_at(conn: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
    """The creation time of each commit id given."""
    out: dict[str, str] = {}
    for part in _chunks(list(ids)):
        out.update(conn.execute(sa.select(commits.c.id, commits.c.created_at).where(commits.c.id.in_(part))).all())
    return out
