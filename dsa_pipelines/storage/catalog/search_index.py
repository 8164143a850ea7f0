"""The search index of datasets: the only SQL over the search tables (migration ``0007_access``).

Portable tables (on the catalog's metadata):

- ``search_documents``: one row per dataset — the searchable text and the facts search
  filters and facets on (creator, creation and last-update time, rows, default-branch head);
- ``search_tags``: (dataset, tag), for tag filters and tag facets;
- ``search_trigrams``: the trigrams of every dataset name and tag, for typo-tolerant
  suggestions (a B-tree on the trigram; the same index on both backends because the
  PostgreSQL build we test with, pgserver, ships no ``pg_trgm``).

The full-text index is the backend's own, named ``search_fts`` on both and created by
the migration: an FTS5 table (``porter unicode61`` tokenizer) on SQLite, a ``tsvector``
column with a GIN index on PostgreSQL. Both are kept in step with ``datasets`` in the
transaction that changes a dataset (:func:`index_dataset`) or moves its default branch
(:func:`on_branch_move`).
"""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from .schema import NAME, OID, TIME, commits, datasets, metadata

search_documents = sa.Table(
    "search_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", NAME, nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default=""),  # space-separated
    sa.Column("created_by", NAME, nullable=False, server_default=""),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("updated_at", TIME, nullable=False),
    sa.Column("row_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("head", OID, nullable=True),
    sa.Index("ix_search_documents_created_by", "created_by"),
    sa.Index("ix_search_documents_updated_at", "updated_at"),
)

search_tags = sa.Table(
    "search_tags",
    metadata,
    sa.Column("dataset", NAME, primary_key=True),
    sa.Column("tag", NAME, primary_key=True),
    sa.Index("ix_search_tags_tag", "tag", "dataset"),
)

search_trigrams = sa.Table(
    "search_trigrams",
    metadata,
    sa.Column("trigram", sa.String(16), primary_key=True),
    sa.Column("term", NAME, primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # name | tag
    sa.Column("grams", sa.Integer, nullable=False),
)

NATIVE_PREFIX = "search_fts"
"""Backend-native full-text objects (not on the metadata; the migration creates them)."""

_FTS_SQLITE = sa.table("search_fts", sa.column("rowid", sa.Integer), sa.column("name"), sa.column("description"),
                       sa.column("tags"))
_FTS_PG = sa.table("search_fts", sa.column("id", sa.Integer), sa.column("document"))
_WORD = re.compile(r"[^\W_]+")
MAX_WORDS = 16
MAX_WORD_LENGTH = 64
MARK = ("<mark>", "</mark>")


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Alembic ``include_name`` filter: leave the backend-native full-text objects out of comparisons."""
    return not (type_ == "table" and name is not None and name.startswith(NATIVE_PREFIX))


def words(text: str) -> list[str]:
    """The words of a query as plain text: letters and digits only, so never query syntax."""
    return [w[:MAX_WORD_LENGTH] for w in _WORD.findall(text.lower())][:MAX_WORDS]


def trigrams(text: str, *, prefix: bool = False) -> set[str]:
    """pg_trgm-style trigrams of a lower-cased term (padded; a prefix is not padded at its end)."""
    padded = "  " + text.lower() + ("" if prefix else " ")
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


# ------------------------------------------------------------------ maintenance
def _fts_delete(conn: sa.Connection, doc_id: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.delete(_FTS_PG).where(_FTS_PG.c.id == doc_id))
    else:
        conn.execute(sa.delete(_FTS_SQLITE).where(_FTS_SQLITE.c.rowid == doc_id))


def _fts_insert(conn: sa.Connection, doc_id: int, name: str, description: str, tags: str) -> None:
    if conn.dialect.name == "postgresql":
        spaced = " ".join(_WORD.findall(name))
        conn.execute(
            sa.text("INSERT INTO search_fts (id, document) VALUES (:id, "
                    "setweight(to_tsvector('english', :name), 'A') || setweight(to_tsvector('english', :tags), 'B')"
                    " || setweight(to_tsvector('english', :description), 'C'))"),
            {"id": doc_id, "name": f"{name} {spaced}", "tags": tags, "description": description})
    else:
        conn.execute(sa.insert(_FTS_SQLITE).values(rowid=doc_id, name=name, description=description, tags=tags))


def _add_terms(conn: sa.Connection, kind: str, terms: set[str]) -> None:
    for term in terms:
        exists = conn.execute(sa.select(search_trigrams.c.term).where(
            search_trigrams.c.term == term, search_trigrams.c.kind == kind).limit(1)).first()
        if exists is None:
            grams = trigrams(term)
            conn.execute(search_trigrams.insert(), [{"trigram": g, "term": term, "kind": kind, "grams": len(grams)}
                                                    for g in grams])


def _drop_terms(conn: sa.Connection, kind: str, terms: set[str]) -> None:
    if terms:
        conn.execute(search_trigrams.delete().where(search_trigrams.c.kind == kind,
                                                    search_trigrams.c.term.in_(sorted(terms))))


def index_dataset(conn: sa.Connection, name: str) -> None:
    """(Re)index a dataset from its ``datasets`` row, in the caller's transaction."""
    row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).first()
    if row is None:
        remove_dataset(conn, name)
        return
    tags = list(dict.fromkeys(json.loads(row.tags)))
    doc = conn.execute(sa.select(search_documents.c.id).where(search_documents.c.dataset == name)).first()
    values = {"description": row.description, "tags": " ".join(tags), "created_by": row.created_by,
              "created_at": row.created_at}
    if doc is None:
        doc_id = conn.execute(search_documents.insert().values(
            dataset=name, updated_at=row.created_at, **values)).inserted_primary_key[0]
        _add_terms(conn, "name", {name})
    else:
        doc_id = doc.id
        conn.execute(search_documents.update().where(search_documents.c.id == doc_id).values(**values))
        _fts_delete(conn, doc_id)
    old = {r.tag for r in conn.execute(sa.select(search_tags.c.tag).where(search_tags.c.dataset == name))}
    new = set(tags)
    if old - new:
        conn.execute(search_tags.delete().where(search_tags.c.dataset == name,
                                                search_tags.c.tag.in_(sorted(old - new))))
        still = {r.tag for r in conn.execute(sa.select(search_tags.c.tag).where(
            search_tags.c.tag.in_(sorted(old - new))).distinct())}
        _drop_terms(conn, "tag", old - new - still)
    if new - old:
        conn.execute(search_tags.insert(), [{"dataset": name, "tag": t} for t in sorted(new - old)])
        _add_terms(conn, "tag", new - old)
    _fts_insert(conn, doc_id, name, row.description, values["tags"])


def remove_dataset(conn: sa.Connection, name: str) -> None:
    """Drop a dataset from the index, in the caller's transaction (for dataset deletion)."""
    doc = conn.execute(sa.select(search_documents.c.id).where(search_documents.c.dataset == name)).first()
    if doc is None:
        return
    _fts_delete(conn, doc.id)
    tags = {r.tag for r in conn.execute(sa.select(search_tags.c.tag).where(search_tags.c.dataset == name))}
    conn.execute(search_tags.delete().where(search_tags.c.dataset == name))
    still = {r.tag for r in conn.execute(sa.select(search_tags.c.tag).where(search_tags.c.tag.in_(sorted(tags)))
                                         .distinct())}
    _drop_terms(conn, "tag", tags - still)
    _drop_terms(conn, "name", {name})
    conn.execute(search_documents.delete().where(search_documents.c.id == doc.id))


def on_branch_move(conn: sa.Connection, dataset: str, branch: str, commit_id: str | None) -> None:
    """Record a move of the dataset's default branch (head, rows, last update), in the move's transaction."""
    if commit_id is None:
        return
    commit = sa.select(commits.c.created_at, commits.c.row_count).where(commits.c.id == commit_id).subquery()
    is_default = sa.select(datasets.c.default_branch).where(datasets.c.name == dataset).scalar_subquery() == branch
    conn.execute(search_documents.update().where(search_documents.c.dataset == dataset, is_default).values(
        head=commit_id,
        updated_at=sa.select(commit.c.created_at).scalar_subquery(),
        row_count=sa.select(commit.c.row_count).scalar_subquery()))


# ---------------------------------------------------------------------- queries
def match(dialect: str, query_words: list[str]) -> sa.Select:
    """``(id, score)`` of the documents matching every word (stemmed, as a prefix); higher score = better."""
    if dialect == "postgresql":
        tsq = sa.func.to_tsquery(sa.literal("english"), sa.bindparam("q", " & ".join(w + ":*" for w in query_words)))
        return (sa.select(_FTS_PG.c.id.label("id"), sa.func.ts_rank(_FTS_PG.c.document, tsq).label("score"))
                .where(_FTS_PG.c.document.op("@@")(tsq)))
    fts = sa.literal_column("search_fts")
    q = " ".join('"' + w + '"*' for w in query_words)
    return (sa.select(_FTS_SQLITE.c.rowid.label("id"),
                      (-sa.func.bm25(fts, 10.0, 2.0, 5.0)).label("score"))
            .where(fts.op("MATCH")(sa.bindparam("q", q))))


def highlights(conn: sa.Connection, query_words: list[str], ids: list[int]) -> dict[int, dict[str, str]]:
    """Highlighted name, description snippet and tags of some documents (marks around matched words)."""
    if not ids or not query_words:
        return {}
    if conn.dialect.name == "postgresql":
        tsq = sa.func.to_tsquery(sa.literal("english"), sa.bindparam("q", " & ".join(w + ":*" for w in query_words)))
        opts = sa.literal("StartSel=<mark>, StopSel=</mark>, MaxWords=20, MinWords=8")
        rows = conn.execute(sa.select(
            search_documents.c.id,
            sa.func.ts_headline(sa.literal("english"), search_documents.c.dataset, tsq, opts).label("name"),
            sa.func.ts_headline(sa.literal("english"), search_documents.c.description, tsq, opts).label("description"),
            sa.func.ts_headline(sa.literal("english"), search_documents.c.tags, tsq, opts).label("tags"),
        ).where(search_documents.c.id.in_(ids)))
    else:
        fts = sa.literal_column("search_fts")
        rows = conn.execute(sa.select(
            _FTS_SQLITE.c.rowid.label("id"),
            sa.func.highlight(fts, 0, *MARK).label("name"),
            sa.func.snippet(fts, 1, *MARK, "…", 16).label("description"),
            sa.func.highlight(fts, 2, *MARK).label("tags"),
        ).where(fts.op("MATCH")(sa.bindparam("q", " ".join('"' + w + '"*' for w in query_words))),
                _FTS_SQLITE.c.rowid.in_(ids)))
    return {r.id: {k: v for k, v in (("name", r.name), ("description", r.description), ("tags", r.tags))
                   if v and MARK[0] in v} for r in rows}


def term_candidates(conn: sa.Connection, grams: set[str], need: int, limit: int) -> list[sa.Row]:
    """Terms sharing at least ``need`` of the given trigrams: ``(term, kind, grams, shared)``, best first."""
    shared = sa.func.count().label("shared")
    query = (sa.select(search_trigrams.c.term, search_trigrams.c.kind, search_trigrams.c.grams, shared)
             .where(search_trigrams.c.trigram.in_(sorted(grams)))
             .group_by(search_trigrams.c.term, search_trigrams.c.kind, search_trigrams.c.grams)
             .having(sa.func.count() >= need)
             .order_by(shared.desc(), sa.func.abs(search_trigrams.c.grams - len(grams)), search_trigrams.c.term)
             .limit(limit))
    return list(conn.execute(query))
