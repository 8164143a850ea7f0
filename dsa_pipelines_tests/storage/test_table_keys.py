"""Declared table keys: stored in the catalog, checked at every commit."""

from __future__ import annotations

import pandas as pd
import pytest

from dsa_pipelines.storage import DatasetNotFound, InvalidInput, KeyViolation, Store


def test_declare_check_and_drop(store: Store):
    store.create_dataset("k")
    store.set_table_key("k", "future", ["id"])  # a table not committed yet
    store.commit("k", pd.DataFrame({"id": [1, 2], "v": [1, 2]}), table="t")
    assert store.set_table_key("k", "t", ["id", "v"]) == ("id", "v")
    assert store.table_key("k", "t") == ("id", "v")
    head = store.resolve("k", "main")
    with pytest.raises(KeyViolation, match=r"key \{'id': 1, 'v': 1\} is duplicated in rows \[0, 2\]") as info:
        store.commit("k", pd.DataFrame({"id": [1, 2, 1], "v": [1, 2, 1]}), table="t")
    assert info.value.rows == [0, 2] and info.value.table == "t"
    with pytest.raises(KeyViolation, match=r"'v' is null in row\(s\) \[1\]"):
        store.commit("k", pd.DataFrame({"id": [1, 2], "v": [1, None]}), table="t")
    with pytest.raises(InvalidInput, match="'v' is missing"):
        store.commit("k", pd.DataFrame({"id": [1, 2]}), table="t")
    assert store.resolve("k", "main") == head
    store.set_table_key("k", "t", None)
    assert store.table_key("k", "t") is None
    store.commit("k", pd.DataFrame({"id": [1, 1]}), table="t")


def test_declaring_a_key_the_data_breaks_is_refused(store: Store):
    store.create_dataset("k")
    store.commit("k", pd.DataFrame({"id": [1, 1], "v": [1, 2]}), table="t")
    with pytest.raises(KeyViolation, match="duplicated"):
        store.set_table_key("k", "t", ["id"])
    with pytest.raises(InvalidInput, match="'nope'"):
        store.set_table_key("k", "t", ["nope"])
    with pytest.raises(InvalidInput, match="distinct"):
        store.set_table_key("k", "t", [])
    with pytest.raises(DatasetNotFound):
        store.set_table_key("zz", "t", ["id"])
    assert store.table_key("k", "t") is None
