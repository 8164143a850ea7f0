"""The `dsa` command, on a real store in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dsa_pipelines.cli import main
from dsa_pipelines.storage import Store

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    return tmp_path / "store"


def test_commit_log_show_head_branch_reset_export(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["--author", "ana", "commit", "--create", "customers", str(SAMPLES / "customers.csv"),
                 "-m", "first"]) == 0
    assert "committed" in capsys.readouterr().out
    assert main(["commit", "customers", str(SAMPLES / "customers_v2.csv"), "-t", "customers", "-m", "second"]) == 0
    out = capsys.readouterr().out
    assert "13 new" in out and "191 reused" in out
    assert main(["commit", "customers", str(SAMPLES / "customers_v2.csv"), "-t", "customers"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["log", "customers"]) == 0
    log = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in log] == ["v2", "v1", "v0"]
    assert main(["show", "customers", "v1"]) == 0
    assert "customer_id: int64" in capsys.readouterr().out
    assert main(["head", "customers", "main", "-n", "3"]) == 0
    assert "(3 of 204 rows from row 0)" in capsys.readouterr().out
    assert main(["branch", "customers", "fix", "v1"]) == 0
    assert main(["tag", "customers", "first-export", "v1"]) == 0
    capsys.readouterr()
    assert main(["tag", "customers"]) == 0
    assert capsys.readouterr().out.startswith("first-export\t")
    assert main(["branch", "customers"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["fix", "main"]
    assert main(["--author", "bo", "reset", "customers", "main", "v1", "--reason", "bad upload"]) == 0
    capsys.readouterr()
    assert main(["reflog", "customers", "main", "-n", "1"]) == 0
    assert "bad upload" in capsys.readouterr().out
    assert main(["export", "customers", "main", str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_text().startswith('"customer_id"')
    with Store.open(root) as store:
        assert store.resolve("customers", "main") == store.resolve("customers", "fix")


def test_errors_are_reported_with_exit_code_2(root: Path, capsys: pytest.CaptureFixture):
    assert main(["log", "nope"]) == 2
    assert "DatasetNotFound" in capsys.readouterr().err
    assert main(["commit", "--create", "d", "/no/such/file.csv"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_outside_the_project_dsa_refuses_to_create_a_store_implicitly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("DSA_STORE_ROOT", raising=False)
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["datasets"]) == 2
    err = capsys.readouterr().err
    assert "no store here" in err and "--store" in err and "DSA_STORE_ROOT" in err
    assert not (tmp_path / "data").exists()
    assert main(["--store", str(tmp_path / "mine"), "create", "sales"]) == 0  # named: created
    assert main(["--store", str(tmp_path / "mine"), "datasets"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("sales\t")
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "mine"))
    assert main(["datasets"]) == 0
    monkeypatch.delenv("DSA_STORE_ROOT")
    (tmp_path / "data").mkdir()
    (tmp_path / "mine").rename(tmp_path / "data" / "store")  # an existing ./data/store is opened
    assert main(["datasets"]) == 0


def test_a_closed_pipe_ends_dsa_quietly(root: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": range(20_000), "text": ["some words to make lines longer"] * 20_000})
    with Store.open(root) as store:
        store.commit("big", frame, table="rows", create_dataset=True)
    process = subprocess.Popen([sys.executable, "-m", "dsa_pipelines.cli", "head", "big", "main", "-n", "20000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert b"id" in first and "Traceback" not in err and "BrokenPipe" not in err


def test_export_with_columns_and_a_filter(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["commit", "--create", "customers", str(SAMPLES / "customers.csv"), "-t", "customers"]) == 0
    out = tmp_path / "few.csv"
    assert main(["export", "customers", "main", str(out), "-c", "customer_id", "-w", "customer_id <= 3"]) == 0
    assert out.read_text().splitlines() == ['"customer_id"', "1", "2", "3"]
    assert main(["export", "customers", "main", str(out), "-w", "customer_id IN (SELECT 1)"]) == 2
    assert "subquery expressions are not allowed" in capsys.readouterr().err
