"""Revision resolution and the log read the catalog in few statements, on every backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import sqlalchemy as sa

from dsa_pipelines.storage import Store

_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store's catalog runs inside the block (transaction control left out)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if not statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            statements.append(statement)

    sa.event.listen(store.catalog.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(store.catalog.engine, "before_cursor_execute", record)


def _history(store: Store, versions: int) -> list[str]:
    store.create_dataset("d")
    return [store.commit("d", {"t": pd.DataFrame({"v": [i]})}).commit_id for i in range(versions)]


def test_main_tilde_2_and_v2_resolve_in_at_most_three_statements(store: Store) -> None:
    ids = _history(store, 4)
    with counted(store) as statements:
        assert store.resolve("d", "main~2") == ids[1]
    assert len(statements) <= 3, statements
    with counted(store) as statements:
        assert store.resolve("d", "v2") == ids[1]
    assert len(statements) <= 3, statements


def test_revisions_still_resolve_every_way(store: Store) -> None:
    ids = _history(store, 3)
    store.create_branch("d", "side", "v1")
    store.create_tag("d", "first", "v1")
    root = store.log("d")[-1].commit.id
    assert store.resolve("d") == ids[-1]
    assert store.resolve("d", "main~3") == root
    assert store.resolve("d", "main^") == ids[1]
    assert store.resolve("d", "side") == store.resolve("d", "first") == ids[0]
    assert store.resolve("d", "side:v1") == ids[0]
    assert store.resolve("d", ids[1][:8]) == ids[1]
    assert store.resolve("d", "main@{1}") == ids[1]
    assert [e.version for e in store.log("d")] == [3, 2, 1, 0]
    assert [e.commit.id for e in store.log("d", "main~1", limit=2)] == [ids[1], ids[0]]


def test_log_reads_a_long_history_in_a_fixed_number_of_statements(store: Store) -> None:
    _history(store, 30)
    with counted(store) as statements:
        entries = store.log("d")
    assert len(entries) == 31
    assert len(statements) <= 5, statements


def test_log_commits_are_the_commits(store: Store) -> None:
    _history(store, 3)
    store.create_branch("d", "side", "v1")
    store.commit("d", {"t": pd.DataFrame({"v": [9]})}, branch="side")
    for entry in store.log("d") + store.log("d", "side"):
        full = store.get_commit("d", entry.commit.id)
        assert {f.name: getattr(entry.commit, f.name) for f in dataclasses.fields(full)} == {
            f.name: getattr(full, f.name) for f in dataclasses.fields(full)} | {"tables": entry.commit.tables}
        assert dict(entry.commit.tables) == dict(full.tables)
