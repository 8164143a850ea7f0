"""Row packs in the catalog: which packs exist, for which logical schema (the dedup scope)."""

from __future__ import annotations

import sqlalchemy as sa

from ..models import utc_now
from .database import insert_once
from .schema import packs


def packs_for_schema(conn: sa.Connection, schema_fp: str) -> list[str]:
    """Ids of the packs holding rows of one logical schema, oldest first."""
    rows = conn.execute(sa.select(packs.c.id).where(packs.c.schema_fp == schema_fp).order_by(packs.c.created_at))
    return [r.id for r in rows]


def record_pack(conn: sa.Connection, pack_id: str, schema_fp: str, row_count: int, size: int) -> None:
    """Register a stored pack (idempotent: a pack written twice is recorded once)."""
    if conn.execute(sa.select(packs.c.id).where(packs.c.id == pack_id)).first():
        return
    insert_once(conn, lambda: conn.execute(packs.insert().values(
        id=pack_id, schema_fp=schema_fp, row_count=row_count, bytes=size, created_at=utc_now())))
