"""Three-way merge: a table of cases, fast-forward/up-to-date, criss-cross, resolutions, races, bad input."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from dsa_pipelines.storage import InvalidInput, RefConflict, Store, UnrelatedHistories
from dsa_pipelines.storage import merge as merge_module
from dsa_pipelines.storage.catalog.commits import insert_commit, parent_map
from dsa_pipelines.storage.merge_base import ancestors
from dsa_pipelines.storage.models import BRANCH
from dsa_pipelines.storage.writer import new_commit

Change = Callable[[pd.DataFrame], pd.DataFrame]


def base_frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2, 3, 4, 5], "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
                         "note": ["a", "b", "c", "d", "e"]})


def setv(df: pd.DataFrame, rid: int, **cells) -> pd.DataFrame:
    out = df.copy()
    for c, v in cells.items():
        out.loc[out.id == rid, c] = v
    return out


def drop(df: pd.DataFrame, rid: int) -> pd.DataFrame:
    return df[df.id != rid].reset_index(drop=True)


def add(df: pd.DataFrame, **row) -> pd.DataFrame:
    return pd.concat([df, pd.DataFrame([row])]).reset_index(drop=True)


@dataclass
class Case:
    name: str
    ours: Change
    theirs: Change
    expected: Change | None  # the merged table from the base (None: conflicts)
    kinds: tuple[str, ...] = ()
    kwargs: dict = field(default_factory=dict)
    keyed: bool = True


CASES = [
    Case("disjoint", lambda d: setv(d, 1, amount=11.0), lambda d: add(drop(d, 5), id=6, amount=60.0, note="f"),
         lambda d: add(drop(setv(d, 1, amount=11.0), 5), id=6, amount=60.0, note="f")),
    Case("same row, different cells", lambda d: setv(d, 2, amount=21.0), lambda d: setv(d, 2, note="B"),
         lambda d: setv(d, 2, amount=21.0, note="B")),
    Case("identical change", lambda d: setv(d, 3, note="x"), lambda d: setv(d, 3, note="x"),
         lambda d: setv(d, 3, note="x")),
    Case("same cell, fail", lambda d: setv(d, 3, amount=31.0), lambda d: setv(d, 3, amount=32.0), None, ("cell",)),
    Case("same cell, ours", lambda d: setv(d, 3, amount=31.0), lambda d: setv(d, 3, amount=32.0),
         lambda d: setv(d, 3, amount=31.0), kwargs={"strategies": {"amount": "ours"}}),
    Case("same cell, theirs", lambda d: setv(d, 3, amount=31.0), lambda d: setv(d, 3, amount=32.0),
         lambda d: setv(d, 3, amount=32.0), kwargs={"strategies": {"amount": "theirs"}}),
    Case("same cell, max", lambda d: setv(d, 3, amount=31.0), lambda d: setv(d, 3, amount=32.0),
         lambda d: setv(d, 3, amount=32.0), kwargs={"strategies": {"amount": "max"}}),
    Case("same cell, min", lambda d: setv(d, 3, amount=31.0), lambda d: setv(d, 3, amount=32.0),
         lambda d: setv(d, 3, amount=31.0), kwargs={"strategies": {"amount": "min"}}),
    Case("strategy for one column, default for another", lambda d: setv(d, 3, amount=31.0, note="o"),
         lambda d: setv(d, 3, amount=32.0, note="t"), lambda d: setv(d, 3, amount=32.0, note="o"),
         kwargs={"strategies": {"amount": "theirs"}, "default": "ours"}),
    Case("delete vs modify", lambda d: drop(d, 4), lambda d: setv(d, 4, note="D"), None, ("delete_modify",)),
    Case("modify vs delete", lambda d: setv(d, 4, note="D"), lambda d: drop(d, 4), None, ("modify_delete",)),
    Case("modify vs delete, rows=theirs", lambda d: setv(d, 4, note="D"), lambda d: drop(d, 4),
         lambda d: drop(d, 4), kwargs={"rows": "theirs"}),
    Case("delete vs modify, rows=ours", lambda d: drop(d, 4), lambda d: setv(d, 4, note="D"),
         lambda d: drop(d, 4), kwargs={"rows": "ours"}),
    Case("both add same key, different", lambda d: add(d, id=9, amount=1.0, note="o"),
         lambda d: add(d, id=9, amount=2.0, note="o"), None, ("add_add",)),
    Case("both add same key, same", lambda d: add(d, id=9, amount=1.0, note="o"),
         lambda d: add(d, id=9, amount=1.0, note="o"), lambda d: add(d, id=9, amount=1.0, note="o")),
    Case("column added by theirs", lambda d: setv(d, 1, amount=11.0), lambda d: d.assign(flag=[1, 0, 1, 0, 1]),
         lambda d: setv(d, 1, amount=11.0).assign(flag=[1, 0, 1, 0, 1])),
    Case("column removed by theirs", lambda d: setv(d, 1, amount=11.0), lambda d: d.drop(columns=["note"]),
         lambda d: setv(d, 1, amount=11.0).drop(columns=["note"])),
    Case("column removed by theirs, changed by ours", lambda d: setv(d, 1, note="z"),
         lambda d: d.drop(columns=["note"]), None, ("schema",)),
    Case("column retyped by theirs", lambda d: setv(d, 5, note="q"), lambda d: d.assign(amount=d.amount.astype(str)),
         lambda d: setv(d, 5, note="q").assign(amount=d.amount.astype(str))),
    Case("keyless disjoint", lambda d: setv(d, 1, amount=11.0), lambda d: add(drop(d, 5), id=6, amount=6.0, note="f"),
         lambda d: add(drop(setv(d, 1, amount=11.0), 5), id=6, amount=6.0, note="f"), keyed=False),
    Case("keyless same removal", lambda d: drop(d, 2), lambda d: drop(d, 2), lambda d: drop(d, 2), keyed=False),
    Case("keyless count conflict", lambda d: add(d, id=1, amount=10.0, note="a"),
         lambda d: add(add(d, id=1, amount=10.0, note="a"), id=1, amount=10.0, note="a"), None, ("count",),
         keyed=False),
]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns)).reset_index(drop=True)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_merge_cases(store: Store, case: Case):
    store.create_dataset("m")
    base = base_frame()
    store.commit("m", base, table="t")
    if case.keyed:
        store.set_table_key("m", "t", ["id"])
    store.create_branch("m", "dev")
    store.commit("m", case.ours(base), table="t", message="ours")
    store.commit("m", case.theirs(base), table="t", branch="dev", message="theirs")
    head = store.resolve("m", "main")
    result = store.merge("m", "dev", "main", **case.kwargs)
    if case.expected is None:
        assert result.status == "conflicts"
        assert set(result.conflicts.column("kind").to_pylist()) == set(case.kinds)
        assert result.conflicts.column_names == ["table", "key", "column", "base", "ours", "theirs", "kind"]
        assert store.resolve("m", "main") == head  # nothing moved
        assert len(store.log("m")) == 3
        return
    assert result.status == "merged", result.conflicts.to_pylist()
    merged = store.get_commit("m", "main")
    assert merged.parents == (head, store.resolve("m", "dev"))
    got = store.read_table("m", "main", "t").table.to_pandas()
    want = case.expected(base)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(want), check_dtype=False)


def test_merged_rows_keep_ours_order_and_theirs_inserts_in_place(store: Store):
    store.create_dataset("o")
    base = base_frame()
    store.commit("o", base, table="t")
    store.set_table_key("o", "t", ["id"])
    store.create_branch("o", "dev")
    store.commit("o", setv(base, 5, note="E"), table="t")
    theirs = pd.concat([base.iloc[:2], pd.DataFrame([{"id": 7, "amount": 7.0, "note": "g"}]), base.iloc[2:]])
    store.commit("o", theirs.reset_index(drop=True), table="t", branch="dev")
    assert store.merge("o", "dev").status == "merged"
    assert store.read_table("o", "main", "t").table.column("id").to_pylist() == [1, 2, 7, 3, 4, 5]


def test_fast_forward_and_up_to_date(store: Store):
    store.create_dataset("f")
    store.commit("f", base_frame(), table="t")
    store.create_branch("f", "dev")
    store.commit("f", setv(base_frame(), 1, note="x"), table="t", branch="dev")
    ff = store.merge("f", "dev", "main")
    assert (ff.status, ff.commit_id) == ("fast_forward", store.resolve("f", "dev"))
    assert store.resolve("f", "main") == store.resolve("f", "dev")
    again = store.merge("f", "dev", "main")
    assert (again.status, again.commit_id) == ("up_to_date", store.resolve("f", "main"))
    assert again.conflicts.num_rows == 0


def test_criss_cross_picks_one_deterministic_base(store: Store):
    store.create_dataset("c")
    base = base_frame()
    store.commit("c", base, table="t")
    store.set_table_key("c", "t", ["id"])
    store.create_branch("c", "dev")
    b = store.commit("c", setv(base, 1, note="B"), table="t").commit_id
    c = store.commit("c", setv(base, 2, note="C"), table="t", branch="dev").commit_id
    assert store.merge("c", c, "main").status == "merged"
    assert store.merge("c", b, "dev").status == "merged"
    store.edit("c", "main", update={3: {"note": "main"}})
    store.edit("c", "dev", update={4: {"note": "dev"}})
    first = store.merge("c", "dev", "main", publish=False)
    assert first.status == "merged"
    assert {first.base, *first.other_bases} == {b, c} and len(first.other_bases) == 1
    second = store.merge("c", "dev", "main")
    assert second.base == first.base
    notes = store.read_table("c", "main", "t").table.column("note").to_pylist()
    assert notes == ["B", "C", "main", "dev", "e"]


def test_resolutions_complete_a_merge(store: Store):
    store.create_dataset("r")
    store.commit("r", base_frame(), table="t")
    store.set_table_key("r", "t", ["id"])
    store.create_branch("r", "dev")
    store.commit("r", setv(drop(base_frame(), 4), 3, amount=31.0), table="t")
    store.commit("r", setv(setv(base_frame(), 4, note="D"), 3, amount=32.0), table="t", branch="dev")
    res = store.merge("r", "dev")
    assert res.status == "conflicts" and res.conflicts.num_rows == 2
    kinds = res.conflicts.column("kind").to_pylist()
    answers = ["33.5" if k == "cell" else "<theirs>" for k in kinds]
    done = store.merge("r", "dev", resolutions=res.conflicts.append_column("resolved", pa.array(answers)))
    assert done.status == "merged"
    got = store.read_table("r", "main", "t").table.to_pandas().set_index("id")
    assert got.loc[3, "amount"] == 33.5 and got.loc[4, "note"] == "D"


def test_resolutions_that_do_not_match_are_refused(store: Store):
    store.create_dataset("r")
    store.commit("r", base_frame(), table="t")
    store.set_table_key("r", "t", ["id"])
    store.create_branch("r", "dev")
    store.commit("r", setv(base_frame(), 3, amount=31.0), table="t")
    store.commit("r", setv(base_frame(), 3, amount=32.0), table="t", branch="dev")
    conflicts = store.merge("r", "dev").conflicts
    wrong = conflicts.set_column(1, "key", pa.array(["99"])).append_column("resolved", pa.array(["1"]))
    head = store.resolve("r", "main")
    with pytest.raises(InvalidInput, match="do not match"):
        store.merge("r", "dev", resolutions=wrong)
    with pytest.raises(InvalidInput, match="no resolved value"):
        store.merge("r", "dev", resolutions=conflicts.append_column("resolved", pa.array([None], pa.string())))
    with pytest.raises(InvalidInput, match="lacks column"):
        store.merge("r", "dev", resolutions=conflicts)
    assert store.resolve("r", "main") == head


def _prepared(store: Store) -> None:
    store.create_dataset("b")
    store.commit("b", base_frame(), table="t")
    store.set_table_key("b", "t", ["id"])
    store.create_branch("b", "dev")
    store.commit("b", setv(base_frame(), 1, note="x"), table="t")
    store.commit("b", setv(base_frame(), 2, note="y"), table="t", branch="dev")


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"strategies": {"amount": "newest"}}, InvalidInput, "unknown merge strategy 'newest'"),
    ({"default": "coin"}, InvalidInput, "unknown merge strategy 'coin'"),
    ({"strategies": {"missing": "ours"}}, InvalidInput, "'missing'"),
    ({"rows": "max"}, InvalidInput, "row strategy"),
    ({"source": "main"}, InvalidInput, "into itself"),
    ({"source": "nope"}, Exception, "nope"),
    ({"key": ["nokey"]}, InvalidInput, "nokey"),
])
def test_bad_input_moves_nothing(store: Store, kwargs, error, words):
    _prepared(store)
    head = store.resolve("b", "main")
    kwargs = dict(kwargs)
    source = kwargs.pop("source", "dev")
    with pytest.raises(error, match=words):
        store.merge("b", source, "main", **kwargs)
    assert store.resolve("b", "main") == head
    assert len(store.log("b")) == 3


def test_unrelated_histories_need_allow_unrelated(store: Store):
    store.create_dataset("u")
    store.commit("u", base_frame(), table="t")
    store.set_table_key("u", "t", ["id"])
    other = store.commit("u", add(base_frame(), id=8, amount=8.0, note="h"), table="t", publish=False)
    orphan = new_commit("u", store.get_commit("u", other.commit_id).tables, (), "x", "orphan")
    with store.catalog.write() as conn:
        insert_commit(conn, orphan)
        store.refs.add_if_new(conn, "u", "orphan", BRANCH, orphan.id, "x", "test")
    head = store.resolve("u", "main")
    with pytest.raises(UnrelatedHistories, match="allow_unrelated"):
        store.merge("u", "orphan", "main")
    assert store.resolve("u", "main") == head
    res = store.merge("u", "orphan", "main", allow_unrelated=True)
    assert res.status == "merged" and res.base is None
    assert sorted(store.read_table("u", "main", "t").table.column("id").to_pylist()) == [1, 2, 3, 4, 5, 8]


def test_lost_race_re_merges_onto_the_new_head(store: Store, monkeypatch: pytest.MonkeyPatch):
    _prepared(store)
    original = merge_module.merge_trees
    interfered: list[str] = []

    def interfere(*args, **kwargs):
        out = original(*args, **kwargs)
        if not interfered:
            interfered.append(store.edit("b", "main", update={5: {"note": "late"}}).commit_id)
        return out

    monkeypatch.setattr(merge_module, "merge_trees", interfere)
    res = store.merge("b", "dev", "main")
    assert res.status == "merged" and res.attempts == 2
    assert store.get_commit("b", "main").parents == (interfered[0], store.resolve("b", "dev"))
    assert store.read_table("b", "main", "t").table.column("note").to_pylist() == ["x", "y", "c", "d", "late"]


def _merger(root: str, url: str, branch: str, barrier, results) -> None:
    store = Store.open(root, url)
    try:
        barrier.wait(timeout=60)
        res = store.merge("race", branch, "main")
        results.put(("ok", branch, res.status, res.commit_id))
    except RefConflict as e:
        results.put(("conflict", branch, str(e), None))
    except Exception as e:  # noqa: BLE001 — report anything else to the test
        results.put(("error", branch, repr(e), None))
    finally:
        store.close()


def test_concurrent_merges_into_one_branch(tmp_path: Path, shared_catalog_url: str):
    root = str(tmp_path / "store")
    with Store.open(root, shared_catalog_url) as store:
        store.create_dataset("race")
        store.commit("race", base_frame(), table="t")
        store.set_table_key("race", "t", ["id"])
        for i, branch in enumerate(("a", "b")):
            store.create_branch("race", branch)
            store.commit("race", setv(base_frame(), i + 1, note=branch), table="t", branch=branch)
        store.commit("race", setv(base_frame(), 5, note="main"), table="t")
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_merger, args=(root, shared_catalog_url, b, barrier, results)) for b in ("a", "b")]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert not [o for o in outcomes if o[0] == "error"], outcomes
    with Store.open(root, shared_catalog_url) as store:
        with store.catalog.read() as conn:
            history = ancestors(parent_map(conn, "race"), [store.resolve("race", "main")])
        for status, branch, *_ in outcomes:
            if status == "ok":
                assert store.resolve("race", branch) in history
        notes = store.read_table("race", "main", "t").table.column("note").to_pylist()
        merged = [o[1] for o in outcomes if o[0] == "ok"]
        assert merged
        assert "main" in notes and all(branch in notes for branch in merged)
