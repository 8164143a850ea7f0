"""The audit trail: an append-only record of every mutating action and every denial.

The reflog stays the history of ref moves; the audit trail covers who did what to the
store — commits, grants, protections, policy changes, deletions — and every refused
attempt. Each entry is written in its own short transaction after the outcome is known,
so a denial is recorded even though the refused operation wrote nothing.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from .catalog import Catalog
from .catalog.access_tables import audit_log
from .errors import InvalidInput
from .models import format_time, utc_now

OK = "ok"
DENIED = "denied"
FAILED = "failed"
MAX_LIMIT = 100_000


@dataclass(frozen=True)
class AuditEntry:
    """One action (or refused attempt) in the audit trail."""

    id: int
    created_at: str
    user: str
    action: str
    dataset: str | None
    target: str | None
    params: dict
    outcome: str
    detail: str
    run_id: str | None


def record(catalog: Catalog, *, user: str, action: str, dataset: str | None, target: str | None = None,
           params: dict | None = None, outcome: str = OK, detail: str = "", run_id: str | None = None) -> None:
    """Append one entry, in its own write transaction (values a caller passed are clipped to fit)."""
    with catalog.write() as conn:
        conn.execute(audit_log.insert().values(
            created_at=utc_now(), user_name=_clip(user, 200), action=action, dataset=_clip(dataset, 200),
            target=_clip(target, 1000), params=json.dumps(params or {}, sort_keys=True, default=str),
            outcome=outcome, detail=_clip(detail, 2000), run_id=_clip(run_id, 64)))


def _clip(value: str | None, length: int) -> str | None:
    """A recorded text value, at most ``length`` long: NUL characters (refused by PostgreSQL) and lone
    surrogates (not encodable) written as escapes."""
    if value is None:
        return None
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:length]


def _time(value: str | datetime | None, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return format_time(value)
    raise InvalidInput(f"{name} must be a datetime or ISO-8601 text, not {type(value).__name__}")


def entries(catalog: Catalog, *, dataset: str | None = None, user: str | None = None,
            since: str | datetime | None = None, action: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    """Entries matching every filter given, newest first.

    Raises:
        InvalidInput: a limit outside 1..100,000 or a bad time.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if dataset is not None:
        query = query.where(audit_log.c.dataset == dataset)
    if user is not None:
        query = query.where(audit_log.c.user_name == user)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if since is not None:
        query = query.where(audit_log.c.created_at >= _time(since, "since"))
    with catalog.read() as conn:
        return [AuditEntry(r.id, r.created_at, r.user_name, r.action, r.dataset, r.target, json.loads(r.params),
                           r.outcome, r.detail, r.run_id) for r in conn.execute(query)]


def write_csv(items: list[AuditEntry], path: str | os.PathLike) -> Path:
    """Write entries as CSV (params as JSON text; cells a spreadsheet would run as formulas neutralised)."""
    out = Path(path)
    names = [f.name for f in fields(AuditEntry)]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for item in items:
            row = asdict(item)
            row["params"] = json.dumps(row["params"], sort_keys=True)
            writer.writerow({k: _neutral(v) for k, v in row.items()})
    return out


def _neutral(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
