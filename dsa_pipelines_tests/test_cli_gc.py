"""`dsa gc`, `dsa fsck`, `dsa delete-dataset`, `dsa restore-dataset` on a real store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dsa_pipelines.cli import duration, main
from dsa_pipelines.storage import Store
from dsa_pipelines_tests.storage.gc_helpers import rows


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    with Store.open(tmp_path / "store") as store:
        store.create_dataset("ds")
        store.commit("ds", rows(0, 100), table="t")
        store.create_branch("ds", "tmp")
        store.commit("ds", rows(500, 600), table="t", branch="tmp")
        store.delete_branch("ds", "tmp")
    return tmp_path / "store"


def test_gc_dry_run_then_for_real(root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["gc", "--dry-run", "--grace", "0s", "--retention", "0s"]) == 0
    assert "would remove 1 commits, 1 manifests, 1 packs" in capsys.readouterr().out
    assert main(["gc", "--grace", "1h"]) == 0
    assert "removed 0 commits" in capsys.readouterr().out
    assert main(["gc", "--grace", "0s", "--retention", "0s"]) == 0
    assert "removed 1 commits, 1 manifests, 1 packs" in capsys.readouterr().out


def test_fsck_exits_non_zero_on_problems(root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["fsck", "--deep"]) == 0
    assert capsys.readouterr().out.strip().endswith("ok")
    with Store.open(root) as store:
        pack = store.manifest("ds", "main", "t").packs[0]
        store.objects.path("packs", pack).unlink()
    assert main(["fsck"]) == 1
    out = capsys.readouterr().out
    assert "missing_object" in out and pack in out and "1 problem(s)" in out


def test_delete_and_restore_a_dataset(root: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--author", "ana", "delete-dataset", "ds", "--reason", "test data"]) == 0
    assert "restore with" in capsys.readouterr().out
    assert main(["datasets"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["log", "ds"]) == 2
    assert "DatasetDeleted" in capsys.readouterr().err
    assert main(["restore-dataset", "ds"]) == 0
    assert main(["log", "ds"]) == 0


def test_durations() -> None:
    assert duration("1h") == timedelta(hours=1) and duration("30d") == timedelta(days=30)
    assert duration("90s") == timedelta(seconds=90) and duration("2w") == timedelta(weeks=2)
    with pytest.raises(Exception, match="not a duration"):
        duration("soon")
