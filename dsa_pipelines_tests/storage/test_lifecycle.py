"""Dataset soft delete, restore and purge on every backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dsa_pipelines.storage import AlreadyExists, DatasetDeleted, DatasetNotFound, InvalidInput, Store
from dsa_pipelines.storage.catalog.gc_schema import dataset_events
from dsa_pipelines_tests.storage.gc_helpers import NOW, rows


@pytest.fixture
def two(store: Store) -> Store:
    """'gone' and 'kept' share rows 0..99."""
    store.create_dataset("gone")
    store.create_dataset("kept")
    store.commit("gone", rows(0, 300), table="t")
    store.commit("kept", rows(0, 100), table="t")
    return store


def _events(store: Store) -> list[tuple[str, str, str, str]]:
    with store.catalog.engine.connect() as conn:
        return [(r.dataset, r.action, r.actor, r.reason)
                for r in conn.execute(sa.select(dataset_events).order_by(dataset_events.c.id))]


def test_a_deleted_dataset_is_hidden_and_refused(two: Store) -> None:
    head = two.get_commit("gone", "main").id
    two.delete_dataset("gone", actor="ana", reason="wrong customer")
    assert [d.name for d in two.list_datasets()] == ["kept"]
    for call in (lambda: two.get_dataset("gone"), lambda: two.read_table("gone", "main"),
                 lambda: two.read_table("gone", head), lambda: two.commit("gone", rows(0, 5), table="t"),
                 lambda: two.create_branch("gone", "b")):
        with pytest.raises(DatasetDeleted, match="deleted by ana") as e:
            call()
        assert e.value.deleted_by == "ana" and "wrong customer" in str(e.value)
    with pytest.raises(AlreadyExists, match="soft-deleted"):
        two.create_dataset("gone")
    with pytest.raises(DatasetDeleted):
        two.delete_dataset("gone", actor="ana", reason="again")
    assert _events(two) == [("gone", "delete", "ana", "wrong customer")]


def test_restore_brings_everything_back(two: Store) -> None:
    two.delete_dataset("gone", actor="ana", reason="oops")
    two.gc(grace=NOW)  # within the retention nothing of it is collected
    assert two.restore_dataset("gone", actor="bo").name == "gone"
    assert two.read_table("gone", "main").table.equals(rows(0, 300))
    assert [e[1] for e in _events(two)] == ["delete", "restore"]
    with pytest.raises(InvalidInput):
        two.restore_dataset("gone")


def test_purge_removes_it_for_good_but_shared_rows_stay(two: Store) -> None:
    with pytest.raises(InvalidInput, match="delete it first"):
        two.purge_dataset("gone")
    two.delete_dataset("gone", actor="ana", reason="gdpr")
    two.purge_dataset("gone", actor="ana")
    with pytest.raises(DatasetNotFound):
        two.restore_dataset("gone")
    report = two.gc(grace=NOW)
    assert report.commits_removed == 0 and report.manifests_removed == 1 and report.packs_compacted == 1
    assert two.read_table("kept", "main").table.equals(rows(0, 100))
    assert two.fsck(deep=True).ok
    assert [e[1] for e in _events(two)] == ["delete", "purge"]
    two.create_dataset("gone")  # the name is free again


def test_gc_purges_a_deletion_older_than_the_retention(two: Store) -> None:
    two.delete_dataset("gone", actor="ana", reason="old")
    report = two.gc(grace=NOW, reflog_retention=NOW)
    assert report.datasets_purged == ("gone",)
    with pytest.raises(DatasetNotFound):
        two.get_dataset("gone")
    assert two.read_table("kept", "main").table.equals(rows(0, 100))
    assert two.fsck(deep=True).ok


def test_deleting_needs_a_reason_and_an_existing_dataset(two: Store) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        two.delete_dataset("gone", actor="ana", reason=" ")
    with pytest.raises(DatasetNotFound):
        two.delete_dataset("nope", actor="ana", reason="x")
