"""Commits in the catalog: writing them (with parents and tables) and reading them back.

A commit id is SHA-256 over a canonical JSON of (tree id, parents in order, author,
message, time) — like git's, it names content *and* history. The tree id names only the
content: SHA-256 over the sorted (table name, table content id) pairs. A table's
content id is SHA-256 over its logical schema and the sequence of its row keys, never
over pack locations, so re-packing rows never changes an id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import sqlalchemy as sa

from .catalog.schema import commit_parents, commit_tables, commits
from .errors import AmbiguousRevision, RevisionNotFound
from .models import ColumnInfo, Commit, TableInfo, schema_from_text, schema_to_text

MIN_PREFIX = 4


def _digest(obj: object) -> str:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def table_content_id(logical_schema: tuple[tuple[str, str], ...], row_count: int, keys_digest: bytes) -> str:
    """Content id of a table: its logical schema and ordered row keys."""
    return _digest({"v": 1, "schema": [list(c) for c in logical_schema], "rows": row_count,
                    "keys": keys_digest.hex()})


def tree_id(tables: Mapping[str, TableInfo]) -> str:
    """Content id of a commit's tree: its tables by name."""
    return _digest({"v": 1, "tables": {name: t.content_id for name, t in tables.items()}})


def commit_id(tree: str, parents: tuple[str, ...], author: str, message: str, created_at: str) -> str:
    """A commit's id: content plus history."""
    return _digest({"v": 1, "tree": tree, "parents": list(parents), "author": author, "message": message,
                    "time": created_at})


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


def _table_info(row: sa.Row) -> TableInfo:
    return TableInfo(
        name=row.name, row_count=row.row_count, manifest_id=row.manifest_id, content_id=row.content_id,
        schema=schema_from_text(row.arrow_schema),
        columns=tuple(ColumnInfo(**c) for c in json.loads(row.columns)), stats=json.loads(row.stats),
    )


def load_commits(conn: sa.Connection, ids: list[str]) -> dict[str, Commit]:
    """Load full commits (with parents and tables) by id."""
    if not ids:
        return {}
    rows = conn.execute(sa.select(commits).where(commits.c.id.in_(ids))).all()
    parents: dict[str, list[tuple[int, str]]] = {}
    for r in conn.execute(sa.select(commit_parents).where(commit_parents.c.commit_id.in_(ids))):
        parents.setdefault(r.commit_id, []).append((r.position, r.parent_id))
    tables: dict[str, dict[str, TableInfo]] = {}
    for r in conn.execute(
        sa.select(commit_tables).where(commit_tables.c.commit_id.in_(ids)).order_by(commit_tables.c.name)
    ):
        tables.setdefault(r.commit_id, {})[r.name] = _table_info(r)
    return {
        r.id: Commit(
            id=r.id, dataset=r.dataset, parents=tuple(p for _, p in sorted(parents.get(r.id, []))),
            message=r.message, author=r.author, created_at=r.created_at, tree_id=r.tree_id,
            row_count=r.row_count, tables=tables.get(r.id, {}), run_id=r.run_id, meta=json.loads(r.meta),
        )
        for r in rows
    }


def first_parents(conn: sa.Connection, dataset: str) -> dict[str, str | None]:
    """Every commit of a dataset mapped to its first parent (one query, for history walks)."""
    query = (
        sa.select(commits.c.id, commit_parents.c.parent_id)
        .select_from(commits.outerjoin(commit_parents, sa.and_(
            commit_parents.c.commit_id == commits.c.id, commit_parents.c.position == 0)))
        .where(commits.c.dataset == dataset)
    )
    return {r.id: r.parent_id for r in conn.execute(query)}


def parent_map(engine: sa.Engine, dataset: str) -> dict[str, tuple[str, ...]]:
    """Every commit of a dataset mapped to its parents, in order (one query)."""
    query = (sa.select(commit_parents.c.commit_id, commit_parents.c.position, commit_parents.c.parent_id)
             .join(commits, commits.c.id == commit_parents.c.commit_id).where(commits.c.dataset == dataset))
    with engine.connect() as conn:
        rows = sorted(conn.execute(query).all(), key=lambda r: (r.commit_id, r.position))
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.commit_id, []).append(r.parent_id)
    return {k: tuple(v) for k, v in out.items()}


def find_by_prefix(conn: sa.Connection, dataset: str, prefix: str) -> str:
    """The unique commit of ``dataset`` whose id starts with ``prefix``.

    Raises:
        RevisionNotFound: none matches.
        AmbiguousRevision: several match (they are listed).
    """
    prefix = prefix.lower()
    rows = conn.execute(
        sa.select(commits.c.id)
        .where(commits.c.dataset == dataset, commits.c.id.like(f"{prefix}%"))
        .limit(5)
    ).all()
    if not rows:
        raise RevisionNotFound(f"no commit {prefix!r} in dataset {dataset!r}", kind="commit", name=prefix)
    if len(rows) > 1:
        raise AmbiguousRevision(
            f"commit prefix {prefix!r} is ambiguous in dataset {dataset!r}: "
            + ", ".join(r.id[:12] for r in rows), name=prefix,
        )
    return rows[0].id
