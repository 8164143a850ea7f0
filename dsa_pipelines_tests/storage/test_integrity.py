"""Reads never return wrong rows: damaged objects raise CorruptObject naming where, on every backend."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dsa_pipelines.storage import CorruptObject, Store
from dsa_pipelines.storage.objects import forget_verified


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "amount": rng.normal(100, 20, n).round(3),
        "name": [f"name {i % 97} é" for i in range(n)],
        "flag": rng.random(n) > 0.5,
        "day": pd.date_range("2020-01-01", periods=n, freq="D").date,
    })


def _two_versions(store: Store) -> tuple[str, pa.Table]:
    store.create_dataset("d")
    v1 = _table(3000)
    store.commit("d", v1, table="t", message="v1")
    v2 = v1.copy()
    v2.loc[[5, 1500, 2999], "amount"] = -1.0  # a second pack, and a manifest with several ranges
    cid = store.commit("d", v2, table="t", message="v2").commit_id
    return cid, store.read_table("d", cid, "t").table


def _flip(path: Path, offset: int) -> int:
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([old ^ 0xFF]))
    return old


def _restore(path: Path, offset: int, old: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes([old]))


def _offsets(size: int, n: int) -> list[int]:
    tail = list(range(max(size - 64, 0), size))  # the footer and its length: every byte
    return sorted(set(np.linspace(0, size - 1, n).astype(int).tolist() + tail))


def _read_or_corrupt(store: Store, cid: str, original: pa.Table, where: str) -> bool:
    forget_verified()
    store.manifests.clear()
    try:
        got = store.read_table("d", cid, "t").table
    except CorruptObject as e:
        assert (e.dataset, e.commit, e.table) == ("d", cid, "t"), where
        assert e.object_id and e.object_id in str(e) and "'d'" in str(e) and cid[:12] in str(e), where
        return True
    assert got.equals(original), f"{where}: a damaged object was read as different data"
    return False


def test_every_flipped_byte_of_a_pack_or_manifest_is_detected_or_harmless(store: Store):
    cid, original = _two_versions(store)
    info = store.table_info("d", cid, "t")
    manifest = store.manifest("d", cid, "t")
    objects = [store.objects.path("packs", p) for p in manifest.packs]
    objects.append(store.objects.path("manifests", info.manifest_id))
    for path in objects:
        size = path.stat().st_size
        detected = 0
        for offset in _offsets(size, 60):
            old = _flip(path, offset)
            try:
                detected += _read_or_corrupt(store, cid, original, f"{path.name} offset {offset}")
            finally:
                _restore(path, offset, old)
        assert detected > 0
    forget_verified()
    assert store.read_table("d", cid, "t").table.equals(original)


def test_a_pack_damaged_after_this_process_verified_it_is_caught_by_page_checksums(store: Store):
    cid, original = _two_versions(store)
    pack = store.objects.path("packs", store.manifest("d", cid, "t").packs[0])
    st = pack.stat()
    data_end = st.st_size - 8 - int.from_bytes(pack.read_bytes()[-8:-4], "little")  # where the footer starts
    caught = 0
    for offset in np.linspace(4, data_end - 1, 40).astype(int).tolist():
        old = _flip(pack, offset)
        os.utime(pack, ns=(st.st_atime_ns, st.st_mtime_ns))  # bit rot: same size, inode and time
        try:
            got = store.read_table("d", cid, "t").table
            assert got.equals(original), f"offset {offset}: damaged data page read as different data"
        except CorruptObject as e:
            caught += 1
            assert e.table == "t" and e.commit == cid
        finally:
            _restore(pack, offset, old)
            os.utime(pack, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert caught > 0


def test_a_missing_pack_or_manifest_is_a_corrupt_object_naming_the_table(store: Store):
    cid, _ = _two_versions(store)
    info = store.table_info("d", cid, "t")
    pack_id = store.manifest("d", cid, "t").packs[0]
    store.objects.path("packs", pack_id).rename(store.root / "aside")
    with pytest.raises(CorruptObject, match="is missing") as e:
        store.read_table("d", cid, "t")
    assert (e.value.object_id, e.value.kind, e.value.dataset, e.value.table) == (pack_id, "packs", "d", "t")
    store.manifests.clear()
    store.objects.path("manifests", info.manifest_id).unlink()
    with pytest.raises(CorruptObject, match="manifest") as e:
        store.read_table("d", cid, "t")
    assert (e.value.object_id, e.value.commit) == (info.manifest_id, cid)


def test_a_damaged_pack_does_not_block_later_writes_of_the_same_schema(store: Store, caplog):
    cid, _ = _two_versions(store)
    packs = store.manifest("d", cid, "t").packs
    damaged = store.objects.path("packs", packs[0])
    _flip(damaged, damaged.stat().st_size // 2)
    forget_verified()
    unrelated = store.commit("d", _table(3000, seed=1), table="t", message="new rows only")
    assert unrelated.status == "committed" and "damaged_packs_skipped" not in store.table_info("d", "main", "t").stats
    v1 = _table(3000)
    with caplog.at_level(logging.WARNING, logger="dsa_pipelines.storage.key_index"):
        again = store.commit("d", v1, table="t", message="rows that live in the damaged pack")
        store.commit("d", v1.head(10), table="other", message="and again")
    assert again.status == "committed"
    assert store.table_info("d", again.commit_id, "t").stats["damaged_packs_skipped"] == [packs[0]]
    got = store.read_table("d", again.commit_id, "t").table.to_pandas()
    pd.testing.assert_frame_equal(got, v1.assign(day=got["day"]), check_dtype=False)
    assert sum(packs[0] in r.getMessage() for r in caplog.records) == 1  # reported once
    # the rows were stored again as the same content-addressed pack, which replaced the damaged copy
    assert store.objects.verify("packs", packs[0])
    assert store.read_table("d", cid, "t").table.num_rows == 3000


def test_a_damaged_pack_that_nothing_replaces_stays_a_corrupt_object(store: Store):
    cid, _ = _two_versions(store)
    damaged = store.objects.path("packs", store.manifest("d", cid, "t").packs[0])
    _flip(damaged, damaged.stat().st_size // 2)
    forget_verified()
    assert store.commit("d", _table(50, seed=7), table="t").status == "committed"
    with pytest.raises(CorruptObject, match="is damaged"):
        store.read_table("d", cid, "t")


def test_objects_have_one_mode_that_honours_the_umask(store: Store):
    old = os.umask(0o027)
    try:
        cid, _ = _two_versions(store)
    finally:
        os.umask(old)
    info = store.table_info("d", cid, "t")
    paths = [store.objects.path("packs", p) for p in store.manifest("d", cid, "t").packs]
    paths.append(store.objects.path("manifests", info.manifest_id))
    assert {oct(p.stat().st_mode & 0o777) for p in paths} == {oct(0o640)}
