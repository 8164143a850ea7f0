"""The audit trail: an entry for every mutating operation and every denial, filters, CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from dsa_pipelines.storage import Store
from dsa_pipelines.storage.access import OPERATIONS
from dsa_pipelines.storage.errors import InvalidInput, PermissionDenied
from dsa_pipelines_tests.storage.test_access import PARENT, RECIPES, as_user, world  # noqa: F401 — fixture

MUTATING = sorted(op for op, rule in OPERATIONS.items() if rule.mutates)


def test_every_mutating_operation_and_every_denial_is_recorded(world: dict[str, Store]):  # noqa: F811
    owner, nobody = world["owner"], world["nobody"]
    assert {"commit", "grant", "revoke", "protect_branch", "reset_branch", "create_user"} <= set(MUTATING)
    for operation in MUTATING:
        before = owner.audit_log(limit=1)[0].id
        RECIPES[operation](owner, owner, world)
        mine = [e for e in owner.audit_log(limit=100) if e.id > before and e.user == "owner"]
        assert [e.action for e in mine if e.outcome == "ok"][:1] == [PARENT.get(operation, operation)], operation
    denied = []
    for operation in OPERATIONS:
        try:
            RECIPES[operation](owner, nobody, world)
        except PermissionDenied:
            denied.append(PARENT.get(operation, operation))
    entries = owner.audit_log(user="nobody", limit=1000)
    got = sorted(e.action for e in entries if e.outcome == "denied")
    assert got == sorted(denied)
    assert all(e.detail.startswith("user 'nobody' may not") for e in entries if e.outcome == "denied")


def test_entries_carry_target_params_run_id_and_filter(store: Store, tmp_path: Path):
    run = Store(store.root, store.catalog, user=store.user, run_id="run-42")
    run.create_dataset("d")
    result = run.commit("d", {"t": pd.DataFrame({"v": [1]})}, message="hello")
    entry = store.audit_log(dataset="d", action="commit")[0]
    assert (entry.user, entry.dataset, entry.target, entry.outcome, entry.run_id) == (
        store.user, "d", result.commit_id, "ok", "run-42")
    assert entry.params["message"] == "hello" and "sources" not in entry.params
    assert [e.action for e in store.audit_log(dataset="d")] == ["commit", "create_dataset"]
    assert store.audit_log(dataset="d", since=entry.created_at)[0].id == entry.id
    assert store.audit_log(dataset="d", since="2999-01-01T00:00:00.000000Z") == []
    with pytest.raises(InvalidInput):
        store.audit_log(limit=0)
    with pytest.raises(InvalidInput):
        store.audit_log(limit=10**9)
    # a failed mutation is recorded too (with its error)
    with pytest.raises(InvalidInput):
        store.reset_branch("d", "main", "main~1", reason="")
    failed = store.audit_log(dataset="d", limit=1)[0]
    assert (failed.action, failed.outcome) == ("reset_branch", "failed") and "reason" in failed.detail
    path = store.export_audit_log(tmp_path / "audit.csv", dataset="d")
    rows = list(csv.DictReader(path.open()))
    assert [r["action"] for r in rows] == ["reset_branch", "commit", "create_dataset"]
    assert rows[1]["run_id"] == "run-42" and '"message": "hello"' in rows[1]["params"]
