"""Writing history: atomic dataset creation, the drift policy on every branch move, the retry deadline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dsa_pipelines.storage import (
    DatasetNotFound,
    InvalidFile,
    InvalidInput,
    NewDataset,
    RefConflict,
    SchemaDriftRejected,
    Store,
)
from dsa_pipelines.storage.catalog.refs import RefStore

V1 = pd.DataFrame({"id": [1, 2, 3], "amount": [1.5, 2.5, 3.5]})
RETYPED = pd.DataFrame({"id": [1, 2, 3], "amount": ["a", "b", "c"]})


def test_a_missing_dataset_is_created_with_its_first_commit(store: Store) -> None:
    result = store.commit("new", {"t": V1}, create_dataset=NewDataset(description="made here", tags=("x",)),
                          author="ana", message="first")
    assert result.status == "committed"
    ds = store.get_dataset("new")
    assert (ds.description, ds.tags, ds.created_by) == ("made here", ("x",), "ana")
    assert [e.version for e in store.log("new")] == [1, 0]
    assert store.read_table("new", "v1").table.num_rows == 3


def test_a_bad_file_leaves_no_dataset_behind(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n1,2\n\x00\x01\x02binary")
    with pytest.raises(InvalidFile):
        store.commit("new", bad, create_dataset=True)
    with pytest.raises(DatasetNotFound):
        store.get_dataset("new")
    assert store.list_datasets() == []


def test_without_create_dataset_a_missing_dataset_is_an_error(store: Store) -> None:
    with pytest.raises(DatasetNotFound, match="'nope'"):
        store.commit("nope", {"t": V1})


def test_a_new_dataset_can_be_staged_for_audit(store: Store) -> None:
    staged = store.commit("new", {"t": V1}, create_dataset=True, publish=False)
    assert staged.status == "staged"
    assert [e.version for e in store.log("new")] == [0]
    store.publish("new", "main", staged.commit_id)
    assert store.resolve("new", "main") == staged.commit_id


@pytest.fixture
def strict(store: Store) -> Store:
    store.create_dataset("d", drift_policy="reject")
    store.commit("d", {"t": V1})
    return store


def test_reject_policy_refuses_a_retyped_column_through_the_api(strict: Store) -> None:
    head = strict.resolve("d", "main")
    with pytest.raises(SchemaDriftRejected, match="amount: type changed"):
        strict.commit("d", {"t": RETYPED})
    assert strict.resolve("d", "main") == head


def test_reject_policy_refuses_a_staged_commit_at_publish(strict: Store) -> None:
    staged = strict.commit("d", {"t": RETYPED}, publish=False)
    with pytest.raises(SchemaDriftRejected):
        strict.publish("d", "main", staged.commit_id)
    strict.publish("d", "main", staged.commit_id, force=True)
    assert strict.resolve("d", "main") == staged.commit_id


def test_force_needs_a_reason_and_is_recorded(strict: Store) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        strict.commit("d", {"t": RETYPED}, force=True)
    result = strict.commit("d", {"t": RETYPED}, force=True, force_reason="vendor changed the feed", author="ana")
    commit = strict.get_commit("d", result.commit_id)
    assert commit.meta["forced"] == {"by": "ana", "reason": "vendor changed the feed"}
    assert "forced: vendor changed the feed" in strict.reflog("d", "main", limit=1)[0].reason


def test_warn_and_allow_policies_publish_drift(store: Store) -> None:
    for policy in ("warn", "allow"):
        store.create_dataset(policy, drift_policy=policy)
        store.commit(policy, {"t": V1})
        assert store.commit(policy, {"t": RETYPED}).status == "committed"


def test_a_writer_that_keeps_losing_leaves_its_snapshot_staged(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.create_dataset("d")
    head = store.commit("d", {"t": V1}).commit_id
    real = RefStore.set_if_equals

    def always_moved(self, conn, dataset, name, expected, new, actor="", reason="", **kw):  # noqa: ANN001, ANN003
        real(self, conn, dataset, name, expected, expected, actor, reason)  # a no-op move: rowcount 1
        raise RefConflict(f"branch {name!r} moved", dataset=dataset, name=name, expected=expected, actual=expected)

    monkeypatch.setattr(RefStore, "set_if_equals", always_moved)
    with pytest.raises(RefConflict, match="kept as staged commit") as caught:
        store.commit("d", {"t": RETYPED}, retry_seconds=0.2)
    monkeypatch.undo()
    staged = caught.value.staged
    assert caught.value.attempts >= 1
    assert store.resolve("d", "main") == head
    assert store.read_table("d", staged).table.column("amount").to_pylist() == ["a", "b", "c"]
