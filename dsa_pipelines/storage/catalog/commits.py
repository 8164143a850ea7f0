"""Commits in the catalog: writing them (with parents and tables), reading them back,
finding one by id prefix, and walking first-parent history in one statement."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa

from ..errors import AmbiguousRevision, InvalidInput, RevisionNotFound
from ..models import ColumnInfo, Commit, TableInfo, schema_from_text, schema_to_text
from ..objects import ObjectStore
from .gc_guard import hold_writer_guard, register_commit, require_commits
from .schema import OID, commit_parents, commit_tables, commits

MIN_PREFIX = 4
"""The shortest commit id prefix accepted anywhere (git's default is 4 too)."""

_HEX = frozenset("0123456789abcdef")
_CHUNK = 5_000  # ids per IN (...) list: well under every backend's bind-parameter limit


def insert_commit(conn: sa.Connection, commit: Commit, *, packs: Iterable[str] = (),
                  objects: ObjectStore | None = None) -> None:
    """Write a commit, its parents and its tables in the caller's transaction (idempotent).

    Follows the GC protocol (:mod:`.gc_guard`): the commit and what it references are
    registered, and a reference to something GC collected meanwhile is refused.

    Args:
        packs: The row packs the commit's manifests reference (lets the writer check them).
        objects: The object store (to check referenced files exist).

    Raises:
        ObjectCollected: a parent or referenced object was collected (retryable).
    """
    hold_writer_guard(conn)
    if conn.execute(sa.select(commits.c.id).where(commits.c.id == commit.id)).first():
        return
    require_commits(conn, commit.parents)
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
    register_commit(conn, commit, packs, objects)


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
            row_count=r.row_count, tables=tables.get(r.id, {}), run_id=r.run_id, meta=_meta(r.meta),
        )
        for r in rows
    }


def load_tables(conn: sa.Connection, commit_id: str) -> dict[str, TableInfo]:
    """The tables of one commit, by name."""
    rows = conn.execute(sa.select(commit_tables).where(commit_tables.c.commit_id == commit_id)
                        .order_by(commit_tables.c.name))
    return {r.name: _table_info(r) for r in rows}


def _meta(text: str) -> dict:
    return {} if text == "{}" else json.loads(text)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small acyclic objects."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_history(conn: sa.Connection, head: str, limit: int | None,
                 tables: Callable[[str], Mapping[str, TableInfo]]) -> tuple[list[Commit], int]:
    """The first-parent history from ``head``, newest first: one statement (two with ``limit``).

    Args:
        head: Where the history starts.
        limit: At most this many commits (None: all).
        tables: Gives a commit's tables (called lazily, so a log that never looks at
            them never loads them).

    Returns:
        (commits, the length of the whole first-parent chain — the head's version + 1).
    """
    chain = _chain_cte(head, limit)
    c, p = commits.c, commit_parents.c
    query = (sa.select(c.id, c.dataset, c.message, c.author, c.created_at, c.tree_id, c.row_count, c.run_id, c.meta,
                       p.parent_id)
             .select_from(chain.join(commits, c.id == chain.c.id)
                          .outerjoin(commit_parents, p.commit_id == chain.c.id))
             .order_by(chain.c.depth, p.position))
    out: list[Commit] = []
    current: tuple | None = None
    parents: list[str] = []

    def flush() -> None:
        cid, dataset, message, author, created_at, tree, rows, run_id, meta = current
        out.append(Commit(cid, dataset, tuple(parents), message, author, created_at, tree, rows, tables(cid), run_id,
                          _meta(meta)))

    with _no_cyclic_gc():  # 10,000 commits are 50,000 objects, no cycles: spare the collector's passes
        # Plain values (text, integers) straight from the driver's cursor, in one call.
        rows = conn.execute(query).cursor.fetchall()
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    flush()
                current, parents = row[:9], []
            if row[9] is not None:
                parents.append(row[9])
        if current is not None:
            flush()
    if limit is None or len(out) < limit:
        return out, len(out)
    full = _chain_cte(head, None)
    return out, conn.execute(sa.select(sa.func.count()).select_from(full)).scalar_one()


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
    chain = _chain_cte(head, limit)
    return [r.id for r in conn.execute(sa.select(chain.c.id).order_by(chain.c.depth))]


def _chain_cte(head: str, limit: int | None) -> sa.CTE:
    """A recursive CTE of (id, depth) along first parents from ``head`` (depth 0)."""
    start = sa.select(sa.cast(sa.literal(head), OID).label("id"), sa.literal(0).label("depth"))
    chain = start.cte("chain", recursive=True)
    step = (sa.select(commit_parents.c.parent_id, chain.c.depth + 1)
            .where(commit_parents.c.commit_id == chain.c.id, commit_parents.c.position == 0))
    if limit is not None:
        step = step.where(chain.c.depth < limit - 1)
    return chain.union_all(step)


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
