"""Row edits, revert and cherry-pick: round trips, stale bases, storage cost, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from dsa_pipelines.storage import InvalidInput, KeyViolation, MergeConflict, Store


def frame(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame({"id": range(n), "amount": [float(i) for i in range(n)], "note": [f"r{i}" for i in range(n)]})


@pytest.fixture
def keyed(store: Store) -> Store:
    store.create_dataset("e")
    store.commit("e", frame(), table="t", message="v1")
    store.set_table_key("e", "t", ["id"])
    return store


def rows(store: Store, revision: str = "main") -> list[dict]:
    return store.read_table("e", revision, "t").table.to_pylist()


def test_edit_adds_removes_updates_by_key(keyed: Store):
    res = keyed.edit("e", "main", add=[{"id": 20, "amount": "2.5", "note": "new"}], remove=[2],
                     update={4: {"amount": 44, "note": None}}, message="fix")
    assert res.status == "committed"
    got = {r["id"]: r for r in rows(keyed)}
    assert 2 not in got and got[20] == {"id": 20, "amount": 2.5, "note": "new"}
    assert got[4] == {"id": 4, "amount": 44.0, "note": None}
    assert [r["id"] for r in rows(keyed)] == [0, 1, 3, 4, 5, 6, 7, 20]
    info = keyed.table_info("e", "main", "t")
    assert info.stats["stored_rows"] <= 2  # O(edited rows)
    assert {c.name: c.nulls for c in info.columns}["note"] == 1
    d = keyed.diff("e", "main~1").tables["t"]
    assert (d.added, d.removed, d.changed) == (1, 1, 1)


def test_edit_by_row_id_without_a_key(store: Store):
    store.create_dataset("e")
    store.commit("e", frame(), table="t")
    store.edit("e", "main", remove=[0, 7], update={3: {"note": "three"}})
    assert [r["note"] for r in rows(store)] == ["r1", "r2", "three", "r4", "r5", "r6"]


def test_revert_of_revert_restores_the_content_id(keyed: Store):
    edited = keyed.edit("e", "main", remove=[1], update={5: {"note": "x"}}, add=[{"id": 9, "amount": 9.0}])
    original = keyed.table_info("e", edited.commit_id, "t").content_id
    before = keyed.table_info("e", "main~1", "t").content_id
    r1 = keyed.revert("e", "main", edited.commit_id)
    assert keyed.table_info("e", "main", "t").content_id == before
    assert keyed.get_commit("e", r1.commit_id).message.startswith('Revert "')
    keyed.revert("e", "main", r1.commit_id)
    assert keyed.table_info("e", "main", "t").content_id == original


def test_revert_keeps_later_changes_to_other_rows(keyed: Store):
    bad = keyed.edit("e", "main", update={1: {"note": "oops"}}).commit_id
    keyed.edit("e", "main", update={6: {"note": "later"}})
    keyed.revert("e", "main", bad)
    notes = [r["note"] for r in rows(keyed)]
    assert notes[1] == "r1" and notes[6] == "later"


def test_revert_conflicting_with_a_later_change_moves_nothing(keyed: Store):
    bad = keyed.edit("e", "main", update={1: {"note": "oops"}}).commit_id
    keyed.edit("e", "main", update={1: {"note": "again"}})
    head = keyed.resolve("e", "main")
    with pytest.raises(MergeConflict) as info:
        keyed.revert("e", "main", bad)
    assert info.value.conflicts.num_rows == 1
    assert keyed.resolve("e", "main") == head


def test_cherry_pick_applies_a_commit_of_another_branch(keyed: Store):
    keyed.create_branch("e", "dev")
    pick = keyed.edit("e", "dev", update={2: {"amount": 200}}).commit_id
    keyed.edit("e", "dev", update={3: {"amount": 300}})
    res = keyed.cherry_pick("e", "main", pick)
    assert "cherry picked from commit" in keyed.get_commit("e", res.commit_id).message
    amounts = [r["amount"] for r in rows(keyed)]
    assert amounts[2] == 200.0 and amounts[3] == 3.0


def test_edit_on_a_stale_base_is_merged_onto_the_head(keyed: Store):
    base = keyed.resolve("e", "main")
    keyed.edit("e", "main", update={1: {"note": "head"}})
    res = keyed.edit("e", "main", update={2: {"note": "stale"}}, base=base)
    assert keyed.get_commit("e", res.commit_id).parents == (keyed.resolve("e", "main~1"),)
    assert [r["note"] for r in rows(keyed)][1:3] == ["head", "stale"]
    head = keyed.resolve("e", "main")
    with pytest.raises(MergeConflict):
        keyed.edit("e", "main", update={1: {"note": "clash"}}, base=base)
    assert keyed.resolve("e", "main") == head


def test_revert_of_a_merge_needs_a_mainline(keyed: Store):
    keyed.create_branch("e", "dev")
    keyed.edit("e", "dev", update={2: {"note": "dev"}})
    keyed.edit("e", "main", update={3: {"note": "main"}})
    merge = keyed.merge("e", "dev").commit_id
    head = keyed.resolve("e", "main")
    with pytest.raises(InvalidInput, match="mainline"):
        keyed.revert("e", "main", merge)
    assert keyed.resolve("e", "main") == head
    keyed.revert("e", "main", merge, mainline=1)
    assert [r["note"] for r in rows(keyed)][2:4] == ["r2", "main"]


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"update": {1: {"amount": "lots"}}}, InvalidInput, "'amount'"),
    ({"update": {1: {"colour": "red"}}}, InvalidInput, "no column 'colour'"),
    ({"add": [{"id": 30, "colour": "red"}]}, InvalidInput, "no column 'colour'"),
    ({"add": [{"id": "thirty"}]}, InvalidInput, "'id'"),
    ({"remove": [99]}, InvalidInput, "no row with key"),
    ({"update": {99: {"note": "x"}}}, InvalidInput, "no row with key"),
    ({"add": [{"id": 1, "amount": 1.0}]}, KeyViolation, "duplicated"),
    ({"add": [{"amount": 1.0}]}, KeyViolation, "null"),
    ({"remove": [1], "update": {1: {"note": "x"}}}, InvalidInput, "both removed and updated"),
    ({"add": "not rows"}, InvalidInput, "list of dicts"),
    ({"table": "nope", "remove": [1]}, Exception, "nope"),
])
def test_bad_edits_write_nothing(keyed: Store, kwargs, error, words):
    head = keyed.resolve("e", "main")
    with pytest.raises(error, match=words):
        keyed.edit("e", "main", **kwargs)
    assert keyed.resolve("e", "main") == head


def test_row_id_out_of_range_without_a_key(store: Store):
    store.create_dataset("e")
    store.commit("e", frame(), table="t")
    with pytest.raises(InvalidInput, match="row id 8 is outside"):
        store.edit("e", "main", remove=[8])
    with pytest.raises(InvalidInput, match="logical row id"):
        store.edit("e", "main", remove=["a"])


def test_revert_of_the_root_is_refused(keyed: Store):
    root = keyed.log("e")[-1].commit.id
    with pytest.raises(InvalidInput, match="root"):
        keyed.revert("e", "main", root)


def test_a_key_violation_is_found_before_anything_is_stored(keyed: Store):
    packs = sorted(p.name for p in (keyed.root / "objects" / "packs").rglob("*") if p.is_file())
    with pytest.raises(KeyViolation, match="duplicated"):
        keyed.edit("e", "main", update={3: {"id": 4}})
    with pytest.raises(KeyViolation, match="null"):
        keyed.edit("e", "main", add=[{"note": "no id"}])
    assert sorted(p.name for p in (keyed.root / "objects" / "packs").rglob("*") if p.is_file()) == packs
