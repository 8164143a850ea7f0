"""Change feeds (new commits, ref moves) on every catalog backend."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from dsa_pipelines.storage import Store
from dsa_pipelines.storage.catalog.commits import insert_commit
from dsa_pipelines.storage.catalog.feeds import new_commits, new_ref_moves
from dsa_pipelines.storage.catalog.schema import reflog
from dsa_pipelines.storage.models import format_time
from dsa_pipelines.storage.writer import new_commit
from dsa_pipelines_tests.storage.helpers import people


def upload(store: Store, n: int, dataset: str = "d") -> str:
    return store.commit(dataset, {"people": people(n)}, message=f"{n} rows").commit_id


def test_new_commits_reports_each_commit_once_in_order(store: Store) -> None:
    store.create_dataset("d")
    first = upload(store, 3)
    found, cursor = new_commits(store.catalog, None)
    assert [c.id for c in found][-1] == first and len(found) == 2  # root commit, then the upload
    assert found[-1].tables["people"].row_count == 3
    assert new_commits(store.catalog, cursor)[0] == []
    second = upload(store, 4)
    found, cursor = new_commits(store.catalog, cursor)
    assert [c.id for c in found] == [second]
    assert new_commits(store.catalog, cursor)[0] == []


def test_new_commits_pages_with_limit(store: Store) -> None:
    store.create_dataset("d")
    ids = [upload(store, n) for n in (1, 2, 3)]
    seen, cursor = [], None
    for _ in range(5):
        found, cursor = new_commits(store.catalog, cursor, limit=1)
        seen += [c.id for c in found]
    assert seen[1:] == ids and len(seen) == 4


def _late_commit(store: Store, parent: str, created_at: str) -> str:
    commit = new_commit("d", {}, (parent,), "late", "late arrival", created_at=created_at)
    with store.catalog.write() as conn:
        insert_commit(conn, commit)
    return commit.id


def test_a_commit_inserted_late_within_the_lookback_is_reported(store: Store) -> None:
    store.create_dataset("d")
    head = upload(store, 2)
    _, cursor = new_commits(store.catalog, None)
    high = store.get_commit("d", head).created_at
    earlier = format_time(datetime.strptime(high, "%Y-%m-%dT%H:%M:%S.%fZ")
                          - timedelta(seconds=30))
    late = _late_commit(store, head, earlier)
    found, cursor = new_commits(store.catalog, cursor, lookback=timedelta(minutes=5))
    assert [c.id for c in found] == [late]
    much_earlier = format_time(datetime.strptime(high, "%Y-%m-%dT%H:%M:%S.%fZ")
                               - timedelta(hours=1))
    _late_commit(store, late, much_earlier)
    assert new_commits(store.catalog, cursor, lookback=timedelta(minutes=5))[0] == []
    assert all(t >= earlier for t in cursor["recent"].values())


def test_new_ref_moves_from_start_and_from_end(store: Store) -> None:
    store.create_dataset("d")
    upload(store, 2)
    moves, cursor = new_ref_moves(store.catalog, None)
    assert [(m.ref_name, m.old_commit is None) for m in moves] == [("main", True), ("main", False)]
    assert new_ref_moves(store.catalog, cursor)[0] == []
    assert new_ref_moves(store.catalog, None, from_end=True)[0] == []
    _, at_end = new_ref_moves(store.catalog, None, from_end=True)
    store.create_branch("d", "feature/x")
    moves, _ = new_ref_moves(store.catalog, at_end)
    assert [(m.dataset, m.ref_name, m.kind) for m in moves] == [("d", "feature/x", "branch")]


def _log_row(store: Store, row_id: int, name: str) -> None:
    with store.catalog.write() as conn:
        conn.execute(reflog.insert().values(id=row_id, dataset="d", ref_name=name, kind="branch", old_commit=None,
                                            new_commit=None, actor="", reason="", created_at=format_time(
                                                datetime.now())))


def test_a_reflog_id_that_appears_late_is_reported(store: Store) -> None:
    store.create_dataset("d")
    _, cursor = new_ref_moves(store.catalog, None)
    top = cursor["after"]
    _log_row(store, top + 2, "b2")  # top+1 belongs to a transaction not yet committed
    moves, cursor = new_ref_moves(store.catalog, cursor)
    assert [m.ref_name for m in moves] == ["b2"] and list(cursor["gaps"]) == [str(top + 1)]
    _log_row(store, top + 1, "b1")
    moves, cursor = new_ref_moves(store.catalog, cursor)
    assert [m.ref_name for m in moves] == ["b1"] and cursor["gaps"] == {}
    _log_row(store, top + 4, "b4")
    _, cursor = new_ref_moves(store.catalog, cursor, gap_timeout=timedelta(0) - timedelta(seconds=1))
    assert cursor["gaps"] == {}  # waited long enough: the id was burnt by a rolled-back transaction
    with store.catalog.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reflog)).scalar() == 4
