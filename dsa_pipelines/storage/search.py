"""Dataset search: full text with stemming and prefix matching, filters, exact facets, suggestions.

Runs entirely in the catalog database over its own indexes (see
:mod:`.catalog.search_index`): FTS5 on SQLite, ``tsvector`` + GIN on PostgreSQL; facets
are counted by SQL over the whole match (not the page), and only datasets the acting
user may read are ever matched. A query is plain text: it is split into words of
letters and digits, so quotes, ``*``, ``NEAR``, ``OR`` or SQL meta-characters are just
text, never query syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .access import readable_filter
from .catalog import search_index as ix
from .errors import InvalidInput
from .models import format_time

if TYPE_CHECKING:
    from .repository import Store

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_FILTER_VALUES = 100
MIN_SIMILARITY = 0.5
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SearchItem:
    """One matching dataset."""

    name: str
    description: str
    tags: tuple[str, ...]
    created_by: str
    created_at: str
    updated_at: str
    row_count: int
    head: str | None
    score: float
    snippets: dict = field(default_factory=dict, hash=False, compare=False)  # field -> text with <mark>s


@dataclass(frozen=True)
class SearchResult:
    """A page of matches, the number of all matches, and facets over all of them."""

    items: tuple[SearchItem, ...]
    total: int
    facets: dict = field(hash=False, compare=False)  # {"tags"|"created_by"|"updated_month": {value: count}}


@dataclass(frozen=True)
class Suggestion:
    """An autocomplete suggestion: a dataset name or a tag."""

    text: str
    kind: str  # name | tag
    datasets: int
    similarity: float


def _count(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high:,}, not {value!r}", **{name: value})
    return value


def _values(values: Sequence[str] | str, name: str) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    if len(items) > MAX_FILTER_VALUES or not all(
            isinstance(v, str) and not _CONTROL.search(v) and _encodable(v) == v for v in items):
        raise InvalidInput(f"{name} must be at most {MAX_FILTER_VALUES} strings without control characters")
    return items


def _encodable(text: str) -> str:
    """The text without lone surrogates (they cannot be sent to the database)."""
    return text.encode("utf-8", "ignore").decode("utf-8")


def _time(value: str | datetime | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, str):
        try:
            return format_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError as e:
            raise InvalidInput(f"{name} must be an ISO-8601 time, not {value!r}") from e
    raise InvalidInput(f"{name} must be a datetime or ISO-8601 text, not {type(value).__name__}")


def search(store: Store, query: str = "", *, tags: Sequence[str] = (), created_by: Sequence[str] = (),
           updated_after: str | datetime | None = None, updated_before: str | datetime | None = None,
           limit: int = 20, offset: int = 0) -> SearchResult:
    """See :meth:`Store.search`."""
    if not isinstance(query, str):
        raise InvalidInput(f"a search query is text, not {type(query).__name__}")
    limit, offset = _count(limit, "limit", 1, MAX_LIMIT), _count(offset, "offset", 0, MAX_OFFSET)
    tags, creators = _values(tags, "tags"), _values(created_by, "created_by")
    after, before = _time(updated_after, "updated_after"), _time(updated_before, "updated_before")
    docs = ix.search_documents
    query_words = ix.words(query)
    conditions = []
    for tag in dict.fromkeys(tags):
        conditions.append(docs.c.dataset.in_(sa.select(ix.search_tags.c.dataset).where(ix.search_tags.c.tag == tag)))
    if creators:
        conditions.append(docs.c.created_by.in_(creators))
    if after is not None:
        conditions.append(docs.c.updated_at >= after)
    if before is not None:
        conditions.append(docs.c.updated_at <= before)
    with store.catalog.read() as conn:
        conditions.append(readable_filter(conn, store, docs.c.dataset))
        if query_words:
            hits = ix.match(store.catalog.dialect, query_words).subquery("hits")
            matched = (sa.select(docs, hits.c.score).join(hits, hits.c.id == docs.c.id).where(*conditions)
                       .cte("matched").prefix_with("MATERIALIZED"))  # evaluated once per statement
            order = (matched.c.score.desc(), matched.c.dataset)
        else:
            matched = (sa.select(docs, sa.literal(0.0).label("score")).where(*conditions)
                       .cte("matched").prefix_with("MATERIALIZED"))
            order = (matched.c.updated_at.desc(), matched.c.dataset)
        n = sa.func.count().label("n")
        month = sa.func.substr(matched.c.updated_at, 1, 7)
        summary = sa.union_all(  # the total and every facet in one statement over one evaluation of the match
            sa.select(sa.literal("total").label("facet"), sa.literal("").label("value"), n).select_from(matched),
            sa.select(sa.literal("tags"), ix.search_tags.c.tag, n)
            .join(matched, matched.c.dataset == ix.search_tags.c.dataset).group_by(ix.search_tags.c.tag),
            sa.select(sa.literal("created_by"), matched.c.created_by, n).group_by(matched.c.created_by),
            sa.select(sa.literal("updated_month"), month, n).group_by(month),
        )
        facets: dict[str, dict[str, int]] = {"tags": {}, "created_by": {}, "updated_month": {}}
        total = 0
        for row in conn.execute(summary):
            if row.facet == "total":
                total = row.n
            else:
                facets[row.facet][row.value] = row.n
        facets = {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in facets.items()}
        page = list(conn.execute(sa.select(matched).order_by(*order).limit(limit).offset(offset)))
        marks = ix.highlights(conn, query_words, [r.id for r in page])
    items = tuple(SearchItem(r.dataset, r.description, tuple(r.tags.split()), r.created_by, r.created_at,
                             r.updated_at, r.row_count, r.head, round(float(r.score), 6), marks.get(r.id, {}))
                  for r in page)
    return SearchResult(items, total, facets)


def suggest(store: Store, prefix: str, limit: int = 10) -> list[Suggestion]:
    """See :meth:`Store.suggest`."""
    if not isinstance(prefix, str):
        raise InvalidInput(f"a suggestion prefix is text, not {type(prefix).__name__}")
    limit = _count(limit, "limit", 1, 100)
    text = _CONTROL.sub("", _encodable(prefix)).strip().lower()[:ix.MAX_WORD_LENGTH]
    if not text:
        return []
    grams = ix.trigrams(text, prefix=True)
    need = max(1, int(len(grams) * MIN_SIMILARITY + 0.999))
    docs, tags = ix.search_documents, ix.search_tags
    with store.catalog.read() as conn:
        candidates = ix.term_candidates(conn, grams, need, limit * 10)
        names = [c.term for c in candidates if c.kind == "name"]
        tag_terms = [c.term for c in candidates if c.kind == "tag"]
        readable_names = {r.dataset for r in conn.execute(sa.select(docs.c.dataset).where(
            docs.c.dataset.in_(names), readable_filter(conn, store, docs.c.dataset)))} if names else set()
        tag_counts = {r.tag: r.n for r in conn.execute(
            sa.select(tags.c.tag, sa.func.count().label("n")).where(
                tags.c.tag.in_(tag_terms), readable_filter(conn, store, tags.c.dataset)).group_by(tags.c.tag))
            } if tag_terms else {}
    out = []
    for c in candidates:
        count = 1 if c.kind == "name" and c.term in readable_names else tag_counts.get(c.term, 0) * (c.kind == "tag")
        if count:
            starts = c.term.lower().startswith(text)
            similarity = c.shared / max(len(grams), 1)
            out.append((not starts, -similarity, abs(c.grams - len(grams)), -count, c.term,
                        Suggestion(c.term, c.kind, count, round(similarity, 4))))
    return [s[-1] for s in sorted(out)[:limit]]
