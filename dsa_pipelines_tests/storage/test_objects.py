"""The object store: disk full, dead writers' temporary files, roots that look like SQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dsa_pipelines.storage import InvalidInput, StorageFull, Store, engine
from dsa_pipelines.storage.objects import ObjectStore
from dsa_pipelines_tests.storage.helpers import people


def _full_disk(monkeypatch: pytest.MonkeyPatch, objects: ObjectStore) -> None:
    """Every new temporary file of the store is /dev/full, which fails writes with ENOSPC."""
    real = ObjectStore._temp_name

    def temp_name(self: ObjectStore, suffix: str = "") -> Path:
        path = real(self, suffix)
        path.symlink_to("/dev/full")
        return path

    monkeypatch.setattr(ObjectStore, "_temp_name", temp_name)


def test_a_full_disk_is_storage_full_and_leaves_the_branch_and_store_usable(store: Store, monkeypatch):
    store.create_dataset("d")
    before = store.resolve("d", "main")
    _full_disk(monkeypatch, store.objects)
    with pytest.raises(StorageFull, match="disk is full") as e:
        store.commit("d", people(200), table="t")
    assert e.value.free is not None and e.value.path == str(store.root)
    with pytest.raises(StorageFull) as e:
        store.objects.put_bytes("manifests", b"x" * 1000)
    assert e.value.needed == 1000 and "1,000 bytes" in str(e.value)
    monkeypatch.undo()
    assert store.resolve("d", "main") == before
    assert os.listdir(store.objects.tmp) == []
    assert store.commit("d", people(200), table="t").status == "committed"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_opening_a_store_removes_temp_files_of_dead_writers_only(tmp_path, monkeypatch):
    objects = ObjectStore(tmp_path / "store")
    host = objects._temp_name().name.split("-")[0]
    dead = objects.tmp / f"{host}-{_dead_pid()}-{'a' * 32}.parquet"
    alive = objects.tmp / f"{host}-{os.getpid()}-{'b' * 32}.parquet"
    other_host = objects.tmp / f"00000000-{os.getpid()}-{'c' * 32}.parquet"
    stale = objects.tmp / "tmpold"
    for p in (dead, alive, other_host, stale):
        p.write_bytes(b"x" * 100)
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    monkeypatch.setenv("DSA_TEMP_GRACE_SECONDS", str(24 * 3600))
    reopened = ObjectStore(tmp_path / "store")
    assert sorted(reopened.removed_temp_files) == sorted([dead.name, stale.name])
    assert sorted(os.listdir(reopened.tmp)) == sorted([alive.name, other_host.name])
    os.utime(other_host, (old, old))  # another host's writer, silent for longer than the grace period
    assert ObjectStore(tmp_path / "store").removed_temp_files == [other_host.name]


def test_a_store_root_with_quotes_and_sql_works_and_injects_nothing(tmp_path, catalog_url):
    root = tmp_path / "it's'; COPY (SELECT 1) TO 'pwned.csv'; --" / "store"
    with Store.open(root, catalog_url=catalog_url) as store:
        store.create_dataset("d")
        assert store.commit("d", people(50), table="t").status == "committed"
        assert store.read_table("d", "main", "t").table.num_rows == 50
    assert not list(tmp_path.rglob("pwned.csv")) and not Path("pwned.csv").exists()


def test_duckdb_settings_are_bound_not_interpolated(tmp_path):
    odd = tmp_path / "a'b"
    con = engine.connect(memory_limit="300MB", temp_directory=odd)
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(odd)
    finally:
        con.close()
    with pytest.raises(InvalidInput, match="DSA_DUCKDB_MEMORY_LIMIT"):
        engine.connect(memory_limit="1GB'; SET threads=1; --")
