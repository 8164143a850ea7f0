"""Compaction: rewrite a mostly-dead row pack as a new pack holding only its live rows.

A pack whose live rows (those some live manifest references) are a small fraction of it
is read once, its live rows are written in position order into a new pack, and every
live manifest that referenced it is rewritten to point at the new pack (positions
shifted range by range). The catalog then points the commits' tables at the new
manifests in one transaction. Commit ids and content ids do not change: they name row
keys in order, not pack locations. The old pack and manifests are "freshened" (mtime set
to now) so a reader still holding an old manifest keeps working for the grace period;
after it, the next GC deletes them as unreferenced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from .catalog import Catalog
from .catalog.schema import commit_tables, packs
from .errors import CorruptObject
from .gc_mark import LiveSet
from .ingest import PACK_ROW_GROUP
from .key_index import forget_packs
from .manifest import Manifest, expand_ranges
from .models import utc_now
from .objects import ObjectStore


@dataclass(frozen=True)
class CompactedPack:
    """A pack rewritten: the old and new ids and the live ranges of the old one."""

    old_id: str
    new_id: str
    starts: np.ndarray
    counts: np.ndarray
    old_bytes: int

    def new_positions(self, start: np.ndarray) -> np.ndarray:
        """Where old positions (each inside a live range) are in the new pack."""
        i = np.searchsorted(self.starts, start, side="right") - 1
        offsets = np.cumsum(self.counts) - self.counts
        return offsets[i] + (start - self.starts[i])


def candidates(live: LiveSet, pack_rows: dict[str, int], below: float, skip: set[str]) -> list[str]:
    """Live packs whose live rows are less than ``below`` of their rows (young packs skipped)."""
    out = []
    for pid, pl in live.packs.items():
        total = pack_rows.get(pid, 0)
        if pid not in skip and total > 0 and pl.live_rows() < below * total:
            out.append(pid)
    return sorted(out)


def _rewrite_pack(objects: ObjectStore, pid: str, starts: np.ndarray, counts: np.ndarray) -> CompactedPack:
    path = objects.path("packs", pid)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise CorruptObject(f"row pack {pid} cannot be read for compaction: {e}", object_id=pid) from e
    if int((starts + counts).max()) > table.num_rows:
        raise CorruptObject(f"row pack {pid} has {table.num_rows} rows but live ranges reach "
                            f"{int((starts + counts).max())}", object_id=pid)
    rows = table.take(pa.array(expand_ranges(starts, counts)))
    with objects.temp_path(".parquet") as tmp:
        pq.write_table(rows, tmp, compression="zstd", row_group_size=PACK_ROW_GROUP, write_page_checksum=True)
        new_id = objects.put_file("packs", tmp)
    return CompactedPack(pid, new_id, starts, counts, path.stat().st_size)


def _rewrite_manifest(m: Manifest, done: dict[str, CompactedPack]) -> Manifest:
    start = m.start.copy()
    ids = list(m.packs)
    for j, pid in enumerate(m.packs):
        if pid in done:
            sel = m.pack == j
            start[sel] = done[pid].new_positions(m.start[sel])
            ids[j] = done[pid].new_id
    return Manifest(tuple(ids), m.pack, start, m.count).merged_runs()


def compact(objects: ObjectStore, catalog: Catalog, live: LiveSet, pack_ids: list[str]) -> list[CompactedPack]:
    """Compact the given live packs and repoint the manifests that use them.

    Returns:
        The packs compacted.
    """
    if not pack_ids:
        return []
    done = {}
    for pid in pack_ids:
        s, c = live.packs[pid].merged()
        done[pid] = _rewrite_pack(objects, pid, s, c)
    rewritten: dict[str, str] = {}
    for mid, mpacks in sorted(live.manifest_packs.items()):
        if any(p in done for p in mpacks):
            m = Manifest.from_bytes(objects.read_verified("manifests", mid), mid)
            rewritten[mid] = objects.put_bytes("manifests", _rewrite_manifest(m, done).to_bytes())
    now = utc_now()
    with catalog.write() as conn:
        for cp in done.values():
            old = conn.execute(sa.select(packs).where(packs.c.id == cp.old_id)).first()
            if not conn.execute(sa.select(packs.c.id).where(packs.c.id == cp.new_id)).first():
                conn.execute(packs.insert().values(
                    id=cp.new_id, schema_fp=old.schema_fp if old else "", row_count=int(cp.counts.sum()),
                    bytes=objects.path("packs", cp.new_id).stat().st_size, created_at=now))
            forget_packs(conn, [cp.old_id])  # its rows moved: index runs over it are dropped and rebuilt
            conn.execute(packs.delete().where(packs.c.id == cp.old_id))
        for old_mid, new_mid in rewritten.items():
            conn.execute(commit_tables.update().where(commit_tables.c.manifest_id == old_mid)
                         .values(manifest_id=new_mid))
    for cp in done.values():
        objects.touch("packs", cp.old_id)
    for old_mid in rewritten:
        objects.touch("manifests", old_mid)
    return list(done.values())
