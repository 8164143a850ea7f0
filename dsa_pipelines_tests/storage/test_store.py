"""Behaviour of the version store, on every catalog backend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dsa_pipelines.storage import (
    AlreadyExists,
    DatasetNotFound,
    InvalidInput,
    InvalidName,
    RevisionNotFound,
    Store,
    TableNotFound,
)
from dsa_pipelines_tests.storage.helpers import people


def test_create_describe_and_list_datasets(store: Store):
    ds = store.create_dataset("customers", description="CRM export", tags=["crm", "pii"], created_by="ana")
    assert (ds.name, ds.description, ds.tags, ds.created_by, ds.default_branch) == (
        "customers", "CRM export", ("crm", "pii"), "ana", "main")
    assert ds.created_at.endswith("Z")
    store.create_dataset("orders")
    assert [d.name for d in store.list_datasets()] == ["customers", "orders"]
    main = store.branches("customers")
    assert [b.name for b in main] == ["main"]
    root = store.get_commit("customers", "main")
    assert root.tables == {} and root.parents == () and root.row_count == 0
    with pytest.raises(AlreadyExists, match="customers"):
        store.create_dataset("customers")
    with pytest.raises(DatasetNotFound, match="nope"):
        store.get_dataset("nope")
    with pytest.raises(InvalidName):
        store.create_dataset("bad name")


def test_commit_reports_new_and_reused_rows_and_dedups(store: Store):
    store.create_dataset("p")
    df = people(100)
    first = store.commit("p", df, table="people", message="v1", author="ana")
    assert first.status == "committed" and first.changed
    t = first.tables["people"]
    assert (t.rows, t.new_rows, t.reused_rows, t.stored_rows) == (100, 100, 0, 100)

    df2 = df.copy()
    df2.loc[10, "amount"] = 1.0  # changed
    df2 = pd.concat([df2.drop(index=[20, 21]), people(3, seed=9).assign(id=[900, 901, 902])], ignore_index=True)
    second = store.commit("p", df2, table="people", message="v2", author="ana")
    t2 = second.tables["people"]
    assert (t2.rows, t2.new_rows, t2.reused_rows, t2.stored_rows) == (101, 4, 97, 4)
    assert second.parents == (first.commit_id,)

    again = store.commit("p", df2, table="people", message="same again")
    assert again.status == "no_changes" and not again.changed
    assert again.commit_id == second.commit_id
    assert store.resolve("p", "main") == second.commit_id


def test_rows_read_back_in_upload_order_with_paging(store: Store):
    store.create_dataset("p")
    df = people(1000)
    store.commit("p", df, table="people")
    df2 = df.iloc[::-1].reset_index(drop=True)  # same rows, reversed order: a new commit, no new rows
    res = store.commit("p", df2, table="people")
    assert res.tables["people"].stored_rows == 0 and res.changed
    page = store.read_table("p", "main", offset=990, limit=20)
    assert page.total == 1000 and page.offset == 990
    assert page.table.column("id").to_pylist() == list(range(9, -1, -1))
    full = store.read_table("p", "v1").to_pandas()
    pd.testing.assert_frame_equal(full, df)
    cols = store.read_table("p", "main", columns=["name"], limit=2).table
    assert cols.column_names == ["name"]
    with pytest.raises(InvalidInput, match="no column"):
        store.read_table("p", "main", columns=["nope"])


def test_duplicate_rows_in_one_upload_are_stored_once(store: Store):
    store.create_dataset("d")
    df = pd.DataFrame({"x": [1, 2, 1, 1, 3], "y": ["a", "b", "a", "a", "c"]})
    res = store.commit("d", df, table="t")
    assert res.tables["t"].stored_rows == 3
    assert store.read_table("d").table.column("x").to_pylist() == [1, 2, 1, 1, 3]


def test_upload_replaces_named_tables_and_keeps_others(store: Store):
    store.create_dataset("multi")
    store.commit("multi", {"a": people(5), "b": people(6, seed=1)})
    assert [t.name for t in store.list_tables("multi")] == ["a", "b"]
    store.commit("multi", people(7, seed=2), table="b")
    tables = {t.name: t.row_count for t in store.list_tables("multi")}
    assert tables == {"a": 5, "b": 7}
    store.commit("multi", people(2, seed=3), table="c", replace=True)
    assert [t.name for t in store.list_tables("multi")] == ["c"]
    store.commit("multi", {"d": people(1)})
    res = store.commit("multi", remove_tables=["c"])
    assert res.removed_tables == ("c",)
    assert [t.name for t in store.list_tables("multi")] == ["d"]
    with pytest.raises(TableNotFound, match="'zzz'"):
        store.commit("multi", remove_tables=["zzz"])
    with pytest.raises(TableNotFound, match="tables"):
        store.read_table("multi", "main~1")  # two tables, none named


def test_same_rows_shared_across_datasets(store: Store):
    store.create_dataset("one")
    store.create_dataset("two")
    store.commit("one", people(200), table="t")
    res = store.commit("two", people(200), table="other-name")
    assert res.tables["other-name"].reused_rows == 200
    assert res.tables["other-name"].stored_rows == 0


def test_column_order_does_not_change_content(store: Store):
    store.create_dataset("o")
    df = people(30)
    store.commit("o", df, table="t")
    res = store.commit("o", df[list(reversed(df.columns))], table="t")
    assert res.tables["t"].reused_rows == 30
    # Row identity ignores column order, and so does a table's content: a re-upload that
    # only reorders columns is "no changes" (documented in docs/hashing.md).
    assert res.status == "no_changes"


def test_arrow_input_and_schema_info(store: Store):
    store.create_dataset("a")
    table = pa.table({"k": pa.array([1, 2, None], pa.int32()), "s": ["x", None, "z"]})
    store.commit("a", table, table="t")
    info = store.table_info("a", "main", "t")
    cols = {c.name: c for c in info.columns}
    assert cols["k"].logical == "int" and cols["k"].nulls == 1 and cols["k"].nullable
    assert str(info.schema.field("k").type) == "int32"
    assert store.read_table("a").table.column("k").type == pa.int32()


def test_commit_to_missing_branch_or_dataset(store: Store):
    store.create_dataset("x")
    with pytest.raises(RevisionNotFound, match="branch 'dev' does not exist"):
        store.commit("x", people(2), table="t", branch="dev")
    with pytest.raises(DatasetNotFound):
        store.commit("nope", people(2), table="t")
    with pytest.raises(InvalidInput, match="table name"):
        store.commit("x", people(2))


def test_staged_commit_does_not_move_branch_until_published(store: Store):
    store.create_dataset("w")
    head = store.resolve("w", "main")
    staged = store.commit("w", people(3), table="t", publish=False, run_id="run-123")
    assert staged.status == "staged"
    assert store.resolve("w", "main") == head
    commit = store.get_commit("w", staged.commit_id)
    assert commit.run_id == "run-123" and commit.parents == (head,)
    store.publish("w", "main", staged.commit_id, actor="audit")
    assert store.resolve("w", "main") == staged.commit_id
    assert store.reflog("w", "main")[0].actor == "audit"


def test_commit_rows_references_existing_rows(store: Store):
    store.create_dataset("s")
    store.commit("s", people(100), table="t")
    source = store.resolve("s", "main")
    store.create_branch("s", "samples/one", source)
    res = store.commit_rows("s", "samples/one", source, np.array([50, 3, 99]), as_table="picked",
                            message="round 1", extra_parents=[])
    assert res.tables["picked"].stored_rows == 0
    assert store.read_table("s", "samples/one", "picked").table.column("id").to_pylist() == [50, 3, 99]
    # the same selection again is no change
    again = store.commit_rows("s", "samples/one", source, np.array([50, 3, 99]), as_table="picked")
    assert again.status == "no_changes"


def test_selected_rows_have_their_own_null_counts(store: Store):
    store.create_dataset("n")
    store.commit("n", people(100), table="t")  # amount is null on every 7th row
    store.commit_rows("n", "main", "main", np.array([0, 7, 3]), as_table="picked", replace=False)
    cols = {c.name: c for c in store.table_info("n", "main", "picked").columns}
    assert cols["amount"].nulls == 2
    assert {c.name: c for c in store.table_info("n", "main", "t").columns}["amount"].nulls == 15


def test_windows_over_many_row_groups_and_packs(store: Store, monkeypatch: pytest.MonkeyPatch):
    """Paging reads only the row groups a window touches; the result must match a reference."""
    import dsa_pipelines.storage.ingest as ingest

    monkeypatch.setattr(ingest, "PACK_ROW_GROUP", 700)
    store.create_dataset("w")
    base = pd.DataFrame({"i": np.arange(5000), "s": [f"r{i}" for i in range(5000)]})
    store.commit("w", base, table="t")
    changed = base.copy()
    changed.loc[::97, "s"] = "changed"  # scattered updates land in a second pack
    changed = changed.drop(index=range(1200, 1300)).iloc[::-1].reset_index(drop=True)  # and reverse the order
    store.commit("w", changed, table="t")
    assert len(store.manifest("w").packs) == 2
    rng = np.random.default_rng(0)
    for offset, limit in [(0, 5), (695, 10), (1399, 1), (0, None), *[(int(o), int(n)) for o, n in
                                                                     rng.integers(0, 5000, (8, 2))]]:
        got = store.read_table("w", "main", offset=offset, limit=limit).to_pandas()
        want = changed.iloc[offset: None if limit is None else offset + limit].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)


def test_a_row_stored_twice_by_racing_writers_is_still_found_once(store: Store):
    """Two uploads that race can both store the same new row in their own packs; later
    uploads must count and place such a row once."""
    store.create_dataset("dup")
    store.create_dataset("dup2")
    first = store.commit("dup", people(20), table="t")
    # simulate the race: the same rows land in a second pack of the same schema
    import dsa_pipelines.storage.key_index as key_index

    original = key_index.live_runs
    key_index.live_runs = lambda catalog, fp: []
    try:
        store.commit("dup2", people(20), table="t")
    finally:
        key_index.live_runs = original
    assert first.tables["t"].stored_rows == 20
    res = store.commit("dup", pd.concat([people(20), people(1, seed=5).assign(id=[99])], ignore_index=True),
                       table="t")
    t = res.tables["t"]
    assert (t.rows, t.reused_rows, t.stored_rows) == (21, 20, 1)
    assert store.read_table("dup").table.column("id").to_pylist() == [*range(20), 99]
