"""Garbage collection on every backend: what goes, what stays and reads identically, dry runs,
the writers' protocol and the catalog-level lock."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from dsa_pipelines.sampling import SampleRound, SampleSpec, draw_sample, sample_row_ids
from dsa_pipelines.storage import GcBusy, InvalidInput, ObjectCollected, RevisionNotFound, Store, writer
from dsa_pipelines.storage.catalog.gc_schema import gc_registrations, gc_runs, gc_tombstones
from dsa_pipelines.storage.gc import collect
from dsa_pipelines.storage.gc_lock import GcLock
from dsa_pipelines.storage.ingest import ingest_table
from dsa_pipelines.storage.readers import source_from_frame
from dsa_pipelines_tests.storage.gc_helpers import NOW, catalog_dump, object_files, rows


@pytest.fixture
def history(store: Store) -> dict[str, str]:
    """main: v1, v2; a deleted branch with its own rows; a staged commit; a reset leaving v3 in the reflog."""
    store.create_dataset("ds")
    out = {"v1": store.commit("ds", rows(0, 300), table="t").commit_id}
    out["v2"] = store.commit("ds", rows(0, 350), table="t").commit_id
    store.create_branch("ds", "tmp")
    out["tmp"] = store.commit("ds", rows(1000, 1200), table="t", branch="tmp").commit_id
    store.delete_branch("ds", "tmp")
    out["staged"] = store.commit("ds", rows(5000, 5100), table="t", publish=False).commit_id
    return out


def _manifest_packs(store: Store, commit_id: str) -> tuple[str, ...]:
    return store.manifest("ds", commit_id, "t").packs


def test_unreachable_commits_and_their_objects_go(store: Store, history: dict[str, str]) -> None:
    dead_packs = set(_manifest_packs(store, history["tmp"])) | set(_manifest_packs(store, history["staged"]))
    dead_packs -= set(_manifest_packs(store, history["v2"]))
    before = store.read_table("ds", "main").table
    report = store.gc(grace=NOW, reflog_retention=NOW)
    assert not report.dry_run
    assert set(report.removed_commits) == {history["tmp"], history["staged"]}
    assert report.commits_removed == 2 and report.packs_removed == len(dead_packs) >= 2
    assert report.bytes_freed > 0 and set(report.seconds) >= {"mark", "sweep_catalog", "sweep_objects"}
    for pid in dead_packs:
        assert not store.objects.exists("packs", pid)
    for cid in (history["tmp"], history["staged"]):
        with pytest.raises(RevisionNotFound):
            store.get_commit("ds", cid)
    assert store.read_table("ds", "main").table.equals(before)
    assert store.read_table("ds", history["v1"]).table.equals(rows(0, 300))
    assert store.fsck(deep=True).ok
    again = store.gc(grace=NOW, reflog_retention=NOW)
    assert again.commits_removed == 0 and again.packs_removed == 0 and again.bytes_freed == 0


def test_young_staged_commits_and_recent_reflog_entries_are_kept(store: Store, history: dict[str, str]) -> None:
    old, _ = store.reset_branch("ds", "main", history["v1"], reason="roll back")  # v2 now only in the reflog
    report = store.gc()  # default grace 1h, retention 30 days
    assert report.commits_removed == 0 and report.packs_removed == 0 and report.manifests_removed == 0
    assert store.read_table("ds", history["staged"]).table.equals(rows(5000, 5100))
    assert store.read_table("ds", old).table.equals(rows(0, 350))
    assert store.read_table("ds", history["tmp"]).table.equals(rows(1000, 1200))  # deleted branch: in the reflog
    # past the grace period the staged commit goes; the reflog still holds v2 and tmp
    report = store.gc(grace=NOW)
    assert report.removed_commits == (history["staged"],)
    assert store.read_table("ds", old).table.equals(rows(0, 350))
    assert store.fsck(deep=True).ok


def test_sample_records_keep_their_commits_and_row_lists(store: Store) -> None:
    store.create_dataset("pay")
    store.commit("pay", rows(0, 500), table="payments")
    result = draw_sample(store, SampleSpec("pay", "audit", (SampleRound("random", size=40),
                                                            SampleRound("systematic", step=50)), seed=3))
    expected = {c: store.read_table("pay", c, "payments").table for c in result.commits}
    drawn = sample_row_ids(store, "pay", "audit")
    store.delete_branch("pay", "samples/audit")
    store.gc(grace=NOW, reflog_retention=NOW)
    for cid, table in expected.items():
        assert store.get_commit("pay", cid).id == cid
        assert store.read_table("pay", cid, "payments").table.equals(table)
    assert (sample_row_ids(store, "pay", "audit") == drawn).all()
    assert store.fsck(deep=True).ok


def test_dry_run_reports_exactly_and_changes_nothing(store: Store, history: dict[str, str]) -> None:
    files, catalog = object_files(store), catalog_dump(store)
    dry = store.gc(dry_run=True, grace=NOW, reflog_retention=NOW)
    assert dry.dry_run and dry.commits_removed == 2
    assert object_files(store) == files and catalog_dump(store) == catalog
    real = store.gc(grace=NOW, reflog_retention=NOW)
    for name in ("commits_removed", "manifests_removed", "packs_removed", "bytes_freed", "removed_commits",
                 "reflog_pruned", "packs_compacted"):
        assert getattr(dry, name) == getattr(real, name), name


def test_a_run_is_recorded_and_old_registrations_pruned(store: Store, history: dict[str, str]) -> None:
    store.gc(grace=NOW, reflog_retention=NOW)
    with store.catalog.engine.connect() as conn:
        run = conn.execute(sa.select(gc_runs)).one()
        assert run.status == "succeeded" and run.finished_at
        assert conn.execute(sa.select(sa.func.count()).select_from(gc_registrations)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(gc_tombstones)).scalar() == 0


def test_a_commit_inserted_during_gc_is_a_root(store: Store, history: dict[str, str]) -> None:
    """A writer reuses rows of the deleted branch between GC's mark and its sweep: they survive."""
    landed = {}

    def between_mark_and_sweep(message: str) -> None:
        if message.startswith("sweep_catalog"):
            store.create_branch("ds", "late", history["v1"])
            landed["late"] = store.commit("ds", rows(1000, 1100), table="t", branch="late").commit_id
            store.delete_branch("ds", "late")  # unreachable except through the registration

    report = collect(store, grace=NOW, reflog_retention=NOW, progress=between_mark_and_sweep)
    assert landed["late"] not in report.removed_commits
    assert store.read_table("ds", landed["late"]).table.equals(rows(1000, 1100))
    assert store.fsck(deep=True).ok


def test_a_writer_referencing_a_collected_pack_is_refused_then_stores_anew(store: Store,
                                                                          history: dict[str, str]) -> None:
    """Ingested before GC (reusing the deleted branch's pack), committed after: refused, retried."""
    ingested = ingest_table(store.objects, store.catalog, source_from_frame("t", rows(1000, 1050)))
    assert set(store.manifests.get(ingested.info.manifest_id).packs) & set(_manifest_packs(store, history["tmp"]))
    store.gc(grace=NOW, reflog_retention=NOW)
    with pytest.raises(ObjectCollected):
        writer.commit_upload(store, "ds", "main", writer.Upload((ingested,)), writer.Authorship(), retry_seconds=0)
    assert store.read_table("ds", "main").table.equals(rows(0, 350))
    res = store.commit("ds", rows(1000, 1050), table="t")  # the public path re-ingests and lands
    assert store.read_table("ds", res.commit_id).table.equals(rows(1000, 1050))
    assert store.fsck(deep=True).ok


def test_a_second_gc_waits_for_the_first(tmp_path, shared_catalog_url: str) -> None:
    with Store.open(tmp_path / "store", shared_catalog_url) as store:
        store.create_dataset("ds")
        with GcLock(store.catalog), pytest.raises(GcBusy):
            collect(store, lock_timeout=0.3)
        assert collect(store, lock_timeout=5).commits_kept == 1


def test_negative_grace_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput):
        store.gc(grace=timedelta(seconds=-1))


def test_a_row_selection_committed_during_gc_keeps_the_rows_it_picks(store: Store, history: dict[str, str]) -> None:
    """commit_rows (no data copied) from the deleted branch's commit, racing the sweep."""
    picked = {}

    def between_mark_and_sweep(message: str) -> None:
        if message.startswith("sweep_catalog"):
            store.create_branch("ds", "pick", history["v1"])
            picked["id"] = store.commit_rows("ds", "pick", history["tmp"], np.arange(10, 60)).commit_id

    report = collect(store, grace=NOW, reflog_retention=NOW, progress=between_mark_and_sweep)
    assert history["tmp"] in report.removed_commits  # the source commit goes, its rows stay
    assert store.read_table("ds", picked["id"]).table.equals(rows(1010, 1060))
    assert store.fsck(deep=True).ok
