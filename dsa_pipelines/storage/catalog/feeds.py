"""Feeds of catalog changes for watchers: new commits and ref moves, read with a cursor.

Both feeds are read-only queries; a watcher (e.g. a Dagster sensor) keeps the returned
cursor (a small JSON-able dict) and passes it back next time, so each change is
reported once.

Writers are concurrent, so "newer" is not simply "greater":

- a commit's ``created_at`` is set just before its row is inserted, possibly on another
  machine; a commit may appear after one with a later timestamp. The commit feed re-reads
  a ``lookback`` window behind its high-water mark and remembers the ids it reported
  there.
- reflog ids come from a sequence, and on PostgreSQL a smaller id can become visible
  after a larger one (its transaction committed later). The ref-move feed remembers the
  missing ids below its high-water mark for ``gap_timeout`` and reports them if they
  appear.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..models import Commit, ReflogEntry, format_time, utc_now
from .commits import load_commits
from .refs import reflog_entry
from .schema import commits, reflog

if TYPE_CHECKING:
    from .database import Catalog

COMMIT_LOOKBACK = timedelta(minutes=5)
GAP_TIMEOUT = timedelta(minutes=5)
MAX_GAPS = 1000
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _shift(stamp: str, delta: timedelta) -> str:
    return format_time(datetime.strptime(stamp, _TIME_FORMAT) + delta)


def new_commits(catalog: Catalog, cursor: dict | None, *, limit: int = 100,
                lookback: timedelta = COMMIT_LOOKBACK) -> tuple[list[Commit], dict]:
    """Commits (of every dataset) not reported before, oldest first.

    Args:
        catalog: The catalog.
        cursor: The cursor returned last time (None: start from the first commit).
        limit: At most this many commits per call (call again for more).
        lookback: How far behind the newest reported commit to look for late arrivals.

    Returns:
        (commits with tables, the next cursor ``{"high": created_at, "recent": {id: created_at}}``).
    """
    high = (cursor or {}).get("high")
    recent: dict[str, str] = dict((cursor or {}).get("recent", {}))
    query = sa.select(commits.c.id, commits.c.created_at).order_by(commits.c.created_at, commits.c.id)
    if high:
        query = query.where(commits.c.created_at >= _shift(high, -lookback))
    with catalog.read() as conn:
        rows = [r for r in conn.execute(query.limit(limit + len(recent))) if r.id not in recent][:limit]
        found = load_commits(conn, [r.id for r in rows])
    for r in rows:
        recent[r.id] = r.created_at
        high = max(high or r.created_at, r.created_at)
    if high:
        floor = _shift(high, -lookback)
        recent = {cid: t for cid, t in recent.items() if t >= floor}
    return [found[r.id] for r in rows if r.id in found], {"high": high, "recent": dict(sorted(recent.items()))}


def new_ref_moves(catalog: Catalog, cursor: dict | None, *, limit: int = 500, from_end: bool = False,
                  gap_timeout: timedelta = GAP_TIMEOUT) -> tuple[list[ReflogEntry], dict]:
    """Ref moves (reflog rows of every dataset) not reported before, in id order.

    Args:
        catalog: The catalog.
        cursor: The cursor returned last time (None: start at the beginning, or at the end
            with ``from_end``).
        limit: At most this many moves per call.
        from_end: With no cursor, report nothing and start after the newest move.
        gap_timeout: How long a missing id below the high-water mark is waited for.

    Returns:
        (moves, the next cursor ``{"after": id, "gaps": {id: first seen missing}}``).
    """
    if cursor is None and from_end:
        last = _all(catalog, sa.select(sa.func.max(reflog.c.id)))[0][0]
        return [], {"after": last or 0, "gaps": {}}
    after = int((cursor or {}).get("after", 0))
    gaps = {int(k): v for k, v in (cursor or {}).get("gaps", {}).items()}
    condition = reflog.c.id > after
    if gaps:
        condition = sa.or_(condition, reflog.c.id.in_(sorted(gaps)))
    rows = _all(catalog, sa.select(reflog).where(condition).order_by(reflog.c.id).limit(limit))
    now = utc_now()
    for r in rows:
        gaps.pop(r.id, None)
        if r.id > after:
            gaps.update({missing: now for missing in range(max(after + 1, r.id - MAX_GAPS), r.id)})
            after = r.id
    expired = _shift(now, -gap_timeout)
    gaps = {k: v for k, v in gaps.items() if v >= expired}
    moves = [reflog_entry(r) for r in rows]
    return moves, {"after": after, "gaps": {str(k): v for k, v in sorted(gaps.items())}}


def _all(catalog: Catalog, query: sa.Select) -> list[sa.Row]:
    with catalog.read() as conn:
        return conn.execute(query).all()
