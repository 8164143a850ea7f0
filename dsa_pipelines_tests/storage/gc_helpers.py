"""Shared builders for the GC, compaction, fsck and lifecycle tests."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from dsa_pipelines.storage import Store

NOW = timedelta(0)  # grace/retention 0: everything unreachable is collectable at once


def rows(lo: int, hi: int) -> pa.Table:
    """Rows with ids lo..hi-1 (the same id always gives the same row, so ranges overlap across uploads)."""
    ids = np.arange(lo, hi, dtype=np.int64)
    return pa.table({"id": ids, "name": [f"row {i}" for i in ids.tolist()], "amount": ids * 1.5})


def object_files(store: Store) -> dict[str, tuple[int, float]]:
    """Every file under objects/: relative path -> (size, mtime)."""
    base = store.objects.objects
    return {str(p.relative_to(base)): (p.stat().st_size, p.stat().st_mtime) for p in base.rglob("*") if p.is_file()}


def catalog_dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every catalog table (sorted), for 'nothing changed' checks."""
    meta = sa.MetaData()
    with store.catalog.engine.connect() as conn:
        meta.reflect(conn)
        return {t.name: sorted(tuple(map(str, r)) for r in conn.execute(sa.select(t)))
                for t in meta.sorted_tables if t.name != "alembic_version"}


def pack_exists(store: Store, pack_id: str) -> bool:
    return store.objects.exists("packs", pack_id)
