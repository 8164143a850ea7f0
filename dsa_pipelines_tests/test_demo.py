"""``make run`` (``python -m dsa_pipelines.demo``) on a temporary instance and store, twice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dsa_pipelines import demo
from dsa_pipelines.storage import Store

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    monkeypatch.delenv("DSA_EXPECTATIONS_DIR", raising=False)
    return {"home": home, "store": tmp_path / "store"}


def test_demo_ingests_the_samples_then_finds_no_changes(env: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert demo.main() == 0
    first = capsys.readouterr().out
    assert first.count(" published ") == 4
    assert "v2 " in first and "customers: 204 rows (13 new, 191 reused)" in first
    assert "orders: 150 rows (150 new, 0 reused); products: 30 rows (30 new, 0 reused)" in first

    with Store.open(env["store"]) as store:
        assert [d.name for d in store.list_datasets()] == ["customers", "sales", "transactions"]
        assert [e.version for e in store.log("customers")] == [2, 1, 0]
        assert sorted(store.get_commit("sales", "main").tables) == ["orders", "products"]
        assert list(store.get_commit("customers", "main").tables) == ["customers"]
        heads = {d.name: store.resolve(d.name, "main") for d in store.list_datasets()}
    with dg.DagsterInstance.get() as instance:  # the persistent instance under DAGSTER_HOME
        runs = instance.get_runs()
        assert len(runs) == 4 and all(r.job_name == "ingest" for r in runs)
        assert {r.tags["dsa/branch"] for r in runs} == {"customers/main", "sales/main", "transactions/main"}
        # runs of the code location make dev serves: listed in the ingest job's Runs tab
        listed = instance.get_runs(dg.RunsFilter(job_name="ingest", tags={
            ".dagster/repository": "__repository__@dsa_pipelines.definitions"}))  # the tab's filter
        assert len(listed) == 4
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert len(instance.get_dynamic_partitions("commits")) == 7  # 4 uploads + 3 dataset roots
        assert len(instance.get_dynamic_partitions("dataset:customers")) == 3  # v0, v1, v2

    again = subprocess.run([sys.executable, "-m", "dsa_pipelines.demo"], capture_output=True, text=True,
                           env=dict(os.environ), cwd=REPO, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "No changes: every sample upload is already in the store" in again.stdout
    assert again.stdout.count(" no changes ") == 4 and " published " not in again.stdout
    with Store.open(env["store"]) as store:
        assert {d.name: store.resolve(d.name, "main") for d in store.list_datasets()} == heads
    with dg.DagsterInstance.get() as instance:
        assert len(instance.get_dynamic_partitions("commits")) == 7


def test_demo_needs_dagster_home(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert demo.main() == 2
    assert "DAGSTER_HOME is not set" in capsys.readouterr().err
