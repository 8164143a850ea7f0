"""Names and text fields through the store, identical on every backend (issue 12, defect 15)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dsa_pipelines.storage import AlreadyExists, InvalidInput, InvalidName, Store
from dsa_pipelines.storage.models import BRANCH
from dsa_pipelines_tests.storage.helpers import people


def test_dataset_names_are_nfc_so_decomposed_and_precomposed_are_one_dataset(store: Store):
    assert store.create_dataset("cafe\u0301").name == "caf\u00e9"
    with pytest.raises(AlreadyExists):
        store.create_dataset("caf\u00e9")
    assert [d.name for d in store.list_datasets()] == ["caf\u00e9"]


def test_a_ref_named_like_a_commit_id_resolves_by_one_rule_everywhere(store: Store):
    store.create_dataset("d")
    first = store.commit("d", people(5), table="t", message="one").commit_id
    second = store.commit("d", people(6), table="t", message="two").commit_id
    with pytest.raises(InvalidName, match="hex digits"):
        store.create_branch("d", first[:12], first)
    with store.catalog.write() as conn:  # a store written before the rule may hold such a ref
        store.refs.add_if_new(conn, "d", first, BRANCH, second, "old", "legacy")
    assert store.resolve("d", first) == second
    assert store.get_commit("d", first).id == second
    assert store.read_table("d", first, "t").table.num_rows == 6


@pytest.mark.parametrize(("field", "value", "match"), [
    ("author", "a" * 201, "at most 200"),
    ("message", "bad\x00message", "NUL"),
    ("message", "half \ud800 a pair", "lone surrogate"),
    ("author", "x\ud83d", "lone surrogate"),
])
def test_text_fields_are_validated_the_same_on_every_backend(store: Store, field, value, match):
    store.create_dataset("d")
    head = store.resolve("d")
    with pytest.raises(InvalidInput, match=match):
        store.commit("d", people(5), table="t", **{field: value})
    assert store.resolve("d") == head
    with pytest.raises(InvalidInput, match=match):
        store.create_tag("d", "v1", actor=value) if field == "author" else store.create_tag("d", "v1", reason=value)
    assert store.tags("d") == []


def test_invisible_names_and_lone_surrogates_never_raise_raw_unicode_errors(store: Store):
    for name in ("a\ud800", "m\u0430in", "ma\u200bin", "\u202emain", "\ufeffmain", "NUL"):
        with pytest.raises(InvalidName):
            store.create_dataset(name)
    store.create_dataset("d")
    for name in ("a\ud800", "m\u0430in", "\uff4d\uff41\uff49\uff4e", "deadbeef"):
        with pytest.raises(InvalidName):
            store.create_branch("d", name)
    with pytest.raises(InvalidName):
        store.commit("d", people(5), table="t\ud800")


def test_column_names_are_nfc_and_hash_like_their_precomposed_form(store: Store, tmp_path):
    store.create_dataset("d")
    nfd, nfc = tmp_path / "nfd.csv", tmp_path / "nfc.csv"
    nfd.write_text("cafe\u0301,n\n1,2\n", encoding="utf-8")
    nfc.write_text("caf\u00e9,n\n1,2\n", encoding="utf-8")
    first = store.commit("d", nfd, table="t")
    assert store.table_info("d", "main", "t").schema.names == ["caf\u00e9", "n"]
    assert store.commit("d", nfc, table="t").status == "no_changes"
    assert store.read_table("d", "main", "t", columns=["cafe\u0301"]).table.num_rows == 1
    assert first.status == "committed"


def test_a_nul_or_bidi_control_in_a_column_name_is_refused_with_its_position(store: Store, tmp_path):
    store.create_dataset("d")
    bad = tmp_path / "bad.csv"
    bad.write_text("a\x00b,c\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 1, field 1 \\(byte offset 1\\): contains a NUL byte"):
        store.commit("d", bad, table="t")
    with pytest.raises(InvalidInput, match="U\\+0000"):
        store.commit("d", pa.table({"a\x00b": [1]}), table="t")
    with pytest.raises(InvalidInput, match="U\\+202E"):
        store.commit("d", pa.table({"x\u202e": [1]}), table="t")
    with pytest.raises(InvalidInput, match="duplicate"):
        store.commit("d", pa.table({"cafe\u0301": [1], "caf\u00e9": [2]}), table="t")
