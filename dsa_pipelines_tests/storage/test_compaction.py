"""Compaction: a mostly-dead pack is rewritten; commit ids, content ids and reads do not change."""

from __future__ import annotations

import pytest

from dsa_pipelines.storage import Store
from dsa_pipelines.storage.rows import read_manifest
from dsa_pipelines_tests.storage.gc_helpers import NOW, rows


@pytest.fixture
def sparse(store: Store) -> dict:
    """main holds 100 of the 1000 rows a deleted branch stored in one pack."""
    store.create_dataset("ds")
    store.create_branch("ds", "big")
    big = store.commit("ds", rows(0, 1000), table="t", branch="big").commit_id
    store.delete_branch("ds", "big")
    kept = store.commit("ds", rows(450, 550), table="t").commit_id
    return {"big": big, "kept": kept, "old_pack": store.manifest("ds", big, "t").packs[0]}


def test_compaction_keeps_ids_and_reads(store: Store, sparse: dict) -> None:
    before = store.get_commit("ds", "main")
    old_manifest = store.manifest("ds", "main", "t")
    report = store.gc(grace=NOW, reflog_retention=NOW)
    assert report.packs_compacted == 1 and report.bytes_compacted > 0
    after = store.get_commit("ds", "main")
    assert after.id == before.id and after.tree_id == before.tree_id
    assert after.tables["t"].content_id == before.tables["t"].content_id
    assert after.tables["t"].manifest_id != before.tables["t"].manifest_id
    new_manifest = store.manifest("ds", "main", "t")
    assert sparse["old_pack"] not in new_manifest.packs and new_manifest.range_count == 1
    assert store.read_table("ds", "main").table.equals(rows(450, 550))
    # a reader still holding the old manifest keeps working through the grace period
    assert read_manifest(store.objects, old_manifest, after.tables["t"].schema).equals(rows(450, 550))
    assert store.fsck(deep=True).ok
    store.gc(grace=NOW, reflog_retention=NOW)  # after the grace period the old pack goes
    assert not store.objects.exists("packs", sparse["old_pack"])
    assert store.read_table("ds", "main").table.equals(rows(450, 550))
    assert store.fsck(deep=True).ok


def test_a_well_used_pack_is_not_compacted(store: Store, sparse: dict) -> None:
    store.create_branch("ds", "most", sparse["big"])  # the whole big pack is live again
    report = store.gc(grace=NOW, reflog_retention=NOW)
    assert report.packs_compacted == 0
    assert store.read_table("ds", "most").table.equals(rows(0, 1000))


def test_new_uploads_dedup_against_the_compacted_pack(store: Store, sparse: dict) -> None:
    store.gc(grace=NOW, reflog_retention=NOW)
    res = store.commit("ds", rows(450, 560), table="t")
    assert res.tables["t"].reused_rows == 100 and res.tables["t"].new_rows == 10
    assert store.read_table("ds", "main").table.equals(rows(450, 560))


def test_the_dedup_index_survives_gc_and_compaction(store: Store, sparse: dict) -> None:
    store.gc(grace=NOW, reflog_retention=NOW)  # compacts the pack the index pointed into
    store.gc(grace=NOW, reflog_retention=NOW)  # and deletes the old one
    again = store.commit("ds", rows(400, 600), table="t")  # 100 rows stored, 100 new
    assert again.tables["t"].reused_rows == 100 and again.tables["t"].new_rows == 100
    live_runs = store.live_index_runs()  # the compacted pack was indexed again by that commit
    assert live_runs and all(store.objects.exists("keyindex", run, ".arrow") for run in live_runs)
    store.gc(grace=NOW, reflog_retention=NOW)
    assert set(store.live_index_runs()) == set(live_runs)
    assert all(store.objects.exists("keyindex", run, ".arrow") for run in live_runs)
    assert store.read_table("ds", "main").table.equals(rows(400, 600))
    assert store.fsck(deep=True).ok
