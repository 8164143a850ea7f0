"""fsck on every backend: a clean store is clean, and every injected fault is found and named."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from dsa_pipelines.storage import CorruptObject, Store
from dsa_pipelines.storage.catalog.schema import commit_tables, refs
from dsa_pipelines.storage.manifest import Manifest
from dsa_pipelines.storage.rows import ManifestCache
from dsa_pipelines_tests.storage.gc_helpers import rows


@pytest.fixture
def filled(store: Store) -> dict:
    store.create_dataset("ds")
    c1 = store.commit("ds", rows(0, 2000), table="t").commit_id
    c2 = store.commit("ds", rows(1000, 2500), table="t").commit_id
    info = store.table_info("ds", c2, "t")
    return {"c1": c1, "c2": c2, "manifest": info.manifest_id, "packs": store.manifest("ds", c2, "t").packs}


def _kinds(store: Store, deep: bool = False) -> set[str]:
    report = store.fsck(deep=deep)
    assert report.ok == (not report.problems)
    return {p.kind for p in report.problems}


def _flip(path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _without_foreign_keys(store: Store, statement: sa.Executable) -> None:
    """Write what the foreign keys would refuse (as a broken disk or a bad restore might)."""
    if store.catalog.engine.dialect.name == "postgresql":
        with store.catalog.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(statement)
        return
    raw = store.catalog.engine.raw_connection()
    try:
        raw.execute("PRAGMA foreign_keys=OFF")
        compiled = statement.compile(dialect=store.catalog.engine.dialect, compile_kwargs={"literal_binds": True})
        raw.execute(str(compiled))
        raw.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


def test_a_clean_store_is_clean(store: Store, filled: dict) -> None:
    report = store.fsck(deep=True)
    assert report.ok, report.problems
    assert report.counts["commits"] == 3 and report.counts["rows_rehashed"] == 2500
    assert report.counts["content_ids_checked"] == 2


def test_missing_pack(store: Store, filled: dict) -> None:
    store.objects.path("packs", filled["packs"][0]).unlink()
    report = store.fsck()
    assert {p.kind for p in report.problems} == {"missing_object"}
    [problem] = [p for p in report.problems if p.object_id == filled["packs"][0]]
    assert problem.dataset == "ds" and problem.table == "t" and problem.commit in (filled["c1"], filled["c2"])
    with pytest.raises(CorruptObject, match=filled["packs"][0]):
        store.read_table("ds", filled["c1"])


def test_truncated_pack(store: Store, filled: dict) -> None:
    path = store.objects.path("packs", filled["packs"][0])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "corrupt_object" in _kinds(store)
    with pytest.raises(CorruptObject):
        store.read_table("ds", filled["c1"])


def test_flipped_byte_in_a_pack(store: Store, filled: dict) -> None:
    _flip(store.objects.path("packs", filled["packs"][0]), 0.3)
    assert "corrupt_object" in _kinds(store)
    assert "corrupt_object" in _kinds(store, deep=True)
    with pytest.raises(CorruptObject):
        store.read_table("ds", filled["c1"])


def test_flipped_byte_in_a_manifest(store: Store, filled: dict) -> None:
    _flip(store.objects.path("manifests", filled["manifest"]), 0.5)
    report = store.fsck()
    assert [p.kind for p in report.problems] == ["corrupt_object"]
    assert report.problems[0].object_id == filled["manifest"] and report.problems[0].dataset == "ds"
    store.manifests = ManifestCache(store.objects)  # as a freshly started process would
    with pytest.raises(CorruptObject, match=filled["manifest"]):
        store.read_table("ds", filled["c2"])


def test_ref_to_a_missing_commit(store: Store, filled: dict) -> None:
    _without_foreign_keys(store, refs.update().where(refs.c.name == "main").values(commit_id="ab" * 32))
    report = store.fsck()
    problem = next(p for p in report.problems if p.kind == "missing_commit")
    assert problem.dataset == "ds" and problem.commit == "ab" * 32 and "main" in problem.message


def test_range_past_the_end_of_a_pack(store: Store, filled: dict) -> None:
    m = store.manifest("ds", filled["c1"], "t")
    longer = Manifest(m.packs, m.pack, m.start, m.count + 5)
    mid = store.objects.put_bytes("manifests", longer.to_bytes())
    with store.catalog.engine.begin() as conn:
        conn.execute(commit_tables.update().where(commit_tables.c.commit_id == filled["c1"])
                     .values(manifest_id=mid, row_count=longer.row_count))
    assert "range_outside_pack" in _kinds(store)


def test_a_catalog_row_count_that_disagrees(store: Store, filled: dict) -> None:
    with store.catalog.engine.begin() as conn:
        conn.execute(commit_tables.update().where(commit_tables.c.commit_id == filled["c2"])
                     .values(row_count=1499))
    report = store.fsck()
    assert {p.kind for p in report.problems} == {"row_count_mismatch"}
    assert all(p.commit == filled["c2"] for p in report.problems)


def test_deep_finds_a_row_whose_values_do_not_match_its_key(store: Store, filled: dict) -> None:
    """A well-formed pack (its name is its hash) whose stored key disagrees with the row's values."""
    pid = filled["packs"][0]
    table = pq.read_table(store.objects.path("packs", pid))
    names = table.column("name").to_pylist()
    names[7] = "tampered"
    forged = table.set_column(table.schema.get_field_index("name"), "name", pa.array(names))
    with store.objects.temp_path(".parquet") as tmp:
        pq.write_table(forged, tmp)
        forged_id = store.objects.put_file("packs", tmp)
    m = store.manifest("ds", filled["c1"], "t")
    mid = store.objects.put_bytes("manifests", Manifest((forged_id,), m.pack, m.start, m.count).to_bytes())
    with store.catalog.engine.begin() as conn:
        conn.execute(commit_tables.update().where(commit_tables.c.commit_id == filled["c1"]).values(manifest_id=mid))
    assert store.fsck().ok  # every object is intact; only the values are wrong
    problems = store.fsck(deep=True).problems
    assert [p.kind for p in problems] == ["row_hash_mismatch"] and "position 7" in problems[0].message


def test_deep_finds_a_wrong_content_id(store: Store, filled: dict) -> None:
    with store.catalog.engine.begin() as conn:
        conn.execute(commit_tables.update().where(commit_tables.c.commit_id == filled["c1"])
                     .values(content_id="cd" * 32))
    assert store.fsck().ok
    problem = store.fsck(deep=True).problems[0]
    assert problem.kind == "content_id_mismatch" and problem.commit == filled["c1"] and problem.table == "t"


def test_leftover_temp_files_are_reported_and_garbage_is_counted(store: Store, filled: dict) -> None:
    import os

    leftover = store.objects.tmp / "crashed-writer.parquet"
    leftover.write_bytes(b"partial")
    os.utime(leftover, (1, 1))
    store.objects.put_bytes("manifests", b"an orphan")
    report = store.fsck()
    assert [p.kind for p in report.problems] == ["stale_temp_file"]
    assert report.counts["garbage_objects"] == 1


def test_deep_reads_keys_again_when_they_do_not_fit_in_memory(store: Store, filled: dict,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from dsa_pipelines.storage import fsck as fsck_module

    monkeypatch.setattr(fsck_module, "KEY_CACHE_ROWS", 0)
    assert store.fsck(deep=True).ok
    with store.catalog.engine.begin() as conn:
        conn.execute(commit_tables.update().where(commit_tables.c.commit_id == filled["c2"])
                     .values(content_id="cd" * 32))
    assert [p.kind for p in store.fsck(deep=True).problems] == ["content_id_mismatch"]
