"""`dsa users/grant/revoke/permissions/protect/audit/search/suggest`, on a real store."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dsa_pipelines.cli import main


@pytest.fixture(autouse=True)
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DSA_STORE_ROOT", str(tmp_path / "store"))
    monkeypatch.setenv("DSA_USER", "ana")
    monkeypatch.delenv("DSA_CATALOG_URL", raising=False)
    monkeypatch.delenv("DSA_ADMIN", raising=False)
    return tmp_path / "store"


def run(capsys: pytest.CaptureFixture, *argv: str, code: int = 0) -> str:
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_users_grants_protection_audit(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path):
    run(capsys, "create", "customers", "--description", "Customer churn and master data")
    assert "created user bo (user)" in run(capsys, "users", "add", "bo")
    assert run(capsys, "users").splitlines()[0].startswith("ana\tadmin")
    assert "bo has write on customers" in run(capsys, "grant", "customers", "bo", "write")
    assert "bo\twrite" in run(capsys, "permissions", "customers")
    assert "public read: yes" in run(capsys, "permissions", "customers", "--public", "on")
    assert "moves only by merge" in run(capsys, "protect", "customers", "main")
    monkeypatch.setenv("DSA_USER", "bo")
    out = run(capsys, "grant", "customers", "bo", "admin", code=2)
    assert "PermissionDenied" in out and "'bo' may not grant on dataset 'customers': it needs admin" in out
    out = run(capsys, "users", "add", "cy", code=2)
    assert "PermissionDenied" in out
    monkeypatch.setenv("DSA_USER", "ana")
    assert "UserNotFound" in run(capsys, "grant", "customers", "ghost", "read", code=2)
    assert "last admin" in run(capsys, "revoke", "customers", "ana", code=2)
    assert "revoked bo" in run(capsys, "revoke", "customers", "bo")
    audit = run(capsys, "audit", "--dataset", "customers")
    assert "\tbo\tgrant\tcustomers\tbo\tdenied" in audit and "\tana\trevoke\tcustomers\tbo\tok" in audit
    run(capsys, "audit", "--csv", str(tmp_path / "audit.csv"))
    rows = list(csv.DictReader((tmp_path / "audit.csv").open()))
    assert {r["outcome"] for r in rows} == {"ok", "denied", "failed"}
    assert "was not protected" not in run(capsys, "protect", "customers", "main", "--remove")


def test_search_and_suggest(capsys: pytest.CaptureFixture):
    run(capsys, "create", "customers", "--description", "Customer master data")
    run(capsys, "create", "customer_churn", "--description", "Churn by cohort")
    out = run(capsys, "search", "churn")
    assert out.splitlines()[0].startswith("customer_churn\t0 rows") and "(1 of 1 from 0)" in out
    assert "(2 of 2 from 0)" in run(capsys, "search", "--by", "ana")
    assert "InvalidInput" in run(capsys, "search", "x", "-n", "0", code=2)
    assert run(capsys, "suggest", "custmers").splitlines()[0] == "customers\tname\t1"
