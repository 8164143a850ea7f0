"""Diff: counts and rows against an independent pandas computation, cost, schema diff, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dsa_pipelines.storage import (
    DatasetNotFound,
    InvalidInput,
    KeyViolation,
    RevisionNotFound,
    Store,
    TableNotFound,
)

COLUMNS = ["id", "qty", "price", "name"]


def generated(n: int, seed: int = 0) -> pd.DataFrame:
    """Mixed types with NaN/null cells."""
    rng = np.random.default_rng(seed)
    price = rng.normal(50, 10, n).round(2)
    price[rng.random(n) < 0.1] = np.nan
    names = pd.Series([f"n{i % 37}" for i in range(n)], dtype=object)
    names[rng.random(n) < 0.1] = None
    return pd.DataFrame({"id": np.arange(n, dtype=np.int64), "qty": rng.integers(0, 5, n), "price": price,
                         "name": names})


def changed_version(df: pd.DataFrame, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    """Known changes: updates (incl. to and from null), deletes, inserts, a moved stretch."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    upd = rng.choice(np.arange(10, len(df)), 12, replace=False)
    out.loc[upd[:4], "qty"] = out.loc[upd[:4], "qty"] + 10
    out.loc[upd[4:8], "price"] = np.nan
    out.loc[upd[8:], "name"] = "edited"
    dele = rng.choice(np.setdiff1d(np.arange(10, len(df)), upd), 5, replace=False)
    out = out.drop(index=dele)
    block = out.iloc[:10]
    out = pd.concat([out.iloc[10:], block])  # a stretch moved to the end, unchanged
    new = generated(6, seed=9).assign(id=np.arange(10_000, 10_006))
    out = pd.concat([out.iloc[:50], new.iloc[:3], out.iloc[50:], new.iloc[3:]]).reset_index(drop=True)
    return out, {"updated": set(upd.tolist()), "deleted": set(dele.tolist()), "added": set(new.id.tolist())}


def pandas_keyed(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    m = a.merge(b, on="id", how="outer", suffixes=("_a", "_b"), indicator=True)
    both = m[m["_merge"] == "both"]
    differs = np.zeros(len(both), bool)
    for c in COLUMNS[1:]:
        x, y = both[f"{c}_a"], both[f"{c}_b"]
        differs |= ~((x == y) | (x.isna() & y.isna())).to_numpy()
    return {"added": set(m[m["_merge"] == "right_only"].id), "removed": set(m[m["_merge"] == "left_only"].id),
            "changed": set(both.id[differs]), "unchanged": int((~differs).sum())}


def pandas_multiset(a: pd.DataFrame, b: pd.DataFrame) -> tuple[int, int]:
    def key(df: pd.DataFrame) -> pd.Series:  # one canonical text per row
        return df.astype(str).agg("|".join, axis=1)

    ca, cb = key(a).value_counts(), key(b).value_counts()
    both = pd.concat([ca, cb], axis=1).fillna(0)
    diff = both.iloc[:, 1] - both.iloc[:, 0]
    return int(diff.clip(lower=0).sum()), int((-diff).clip(lower=0).sum())


@pytest.fixture
def versions(store: Store) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    a = generated(400)
    b, known = changed_version(a)
    store.create_dataset("d")
    store.commit("d", a, table="t", message="v1")
    store.commit("d", b, table="t", message="v2")
    return a, b, known


def test_keyed_diff_matches_pandas(store: Store, versions):
    a, b, known = versions
    td = store.diff("d", "main~1", "main", key=["id"]).tables["t"]
    expected = pandas_keyed(a, b)
    rows = td.rows().to_pandas()
    assert set(rows[rows.change == "+"].id) == expected["added"] == known["added"]
    assert set(rows[rows.change == "-"].id) == expected["removed"] == known["deleted"]
    assert set(rows[rows.change == "~"].id) == expected["changed"] == known["updated"]
    assert (td.added, td.removed, td.changed, td.unchanged) == (
        len(expected["added"]), len(expected["removed"]), len(expected["changed"]), expected["unchanged"])
    # every changed cell carries old and new values; unchanged cells of a ~ row have no old value
    tilde = rows[rows.change == "~"].set_index("id")
    base = a.set_index("id")
    for rid, row in tilde.iterrows():
        for c in row.changed_columns:
            old = row[f"{c}__old"]
            assert (pd.isna(old) and pd.isna(base.loc[rid, c])) or old == base.loc[rid, c]
    assert tilde.loc[next(iter(known["updated"]))].changed_columns is not None


def test_keyless_diff_is_a_multiset_diff_matching_pandas(store: Store, versions):
    a, b, _ = versions
    td = store.diff("d", "main~1", "main", pair=None).tables["t"]
    assert (td.added, td.removed) == pandas_multiset(a, b)
    assert td.changed == 0
    paired = store.diff("d", "main~1", "main").tables["t"]
    assert paired.added + paired.changed == td.added
    assert paired.removed + paired.changed == td.removed


def test_rows_are_in_target_order_with_row_ids(store: Store, versions):
    _, b, _ = versions
    rows = store.diff("d", "main~1", "main", key=["id"]).tables["t"].rows()
    assert rows.column_names[:4] == ["change", "base_logical_row_id", "logical_row_id", "changed_columns"]
    target = rows.filter(pa.compute.not_equal(rows.column("change"), "-")).column("logical_row_id").to_pylist()
    assert target == sorted(target)
    plus = rows.to_pandas().query("change == '+'")
    assert (b.loc[plus.logical_row_id.astype(int), "id"].to_numpy() == plus.id.to_numpy()).all()
    assert rows.num_rows == 12 + 5 + 6
    page = store.diff("d", "main~1", "main", key=["id"]).tables["t"].rows(limit=5, offset=3)
    assert page.to_pylist() == rows.slice(3, 5).to_pylist()


def test_one_row_change_reads_a_few_rows(store: Store):
    df = generated(3000)
    store.create_dataset("big")
    store.commit("big", df, table="t")
    df2 = df.copy()
    df2.loc[1234, "qty"] = 99
    store.commit("big", df2, table="t")
    td = store.diff("big", "main~1", key=["id"]).tables["t"]
    assert (td.added, td.removed, td.changed, td.unchanged) == (0, 0, 1, 2999)
    assert td.rows_read <= 4
    assert td.rows().column("qty__old").to_pylist() == [df.qty[1234]]


def test_moved_stretches_and_duplicates(store: Store):
    df = generated(200)
    store.create_dataset("m")
    store.commit("m", df, table="t")
    moved = pd.concat([df.iloc[100:], df.iloc[:100]]).reset_index(drop=True)
    store.commit("m", moved, table="t")
    td = store.diff("m", "main~1").tables["t"]
    assert (td.added, td.removed, td.changed, td.rows_read) == (0, 0, 0, 0)
    triple = pd.concat([df.iloc[[5]]] * 3 + [df.iloc[6:]]).reset_index(drop=True)
    single = pd.concat([df.iloc[[5]], df.iloc[6:]]).reset_index(drop=True)
    store.commit("m", triple, table="t")
    store.commit("m", single, table="t")
    td = store.diff("m", "main~1", pair=None).tables["t"]
    assert (td.added, td.removed, td.unchanged) == (0, 2, len(single))


def test_keyless_in_place_edit_pairs_between_unchanged_neighbours(store: Store):
    df = generated(50)
    store.create_dataset("k")
    store.commit("k", df, table="t")
    edited = df.copy()
    edited.loc[20, "name"] = "in place"
    edited = pd.concat([edited, generated(1, seed=3).assign(id=[999])]).reset_index(drop=True)
    store.commit("k", edited, table="t")
    td = store.diff("k", "main~1").tables["t"]
    assert (td.added, td.removed, td.changed) == (1, 0, 1)
    row = td.rows().to_pylist()[0]
    assert (row["change"], row["base_logical_row_id"], row["logical_row_id"]) == ("~", 20, 20)
    assert row["changed_columns"] == ["name"] and row["name"] == "in place"
    pure = store.diff("k", "main~1", pair=None).tables["t"]
    assert (pure.added, pure.removed, pure.changed) == (2, 1, 0)


def test_schema_diff_and_tables_added_or_removed(store: Store):
    df = generated(30)
    store.create_dataset("s")
    store.commit("s", {"t": df, "gone": df.head(3)})
    changed = df[["name", "id", "price"]].assign(price=df.price.astype(str), extra=1)
    store.commit("s", {"t": changed, "new": df.head(2)}, replace=True)
    d = store.diff("s", "main~1")
    sd = d.tables["t"].schema
    assert sd.added == (("extra", "int"),)
    assert sd.removed == (("qty", "int"),)
    assert sd.retyped == (("price", "float", "string"),)
    assert sd.reordered == ("name",)
    assert (d.tables["gone"].status, d.tables["gone"].removed) == ("removed", 3)
    assert (d.tables["new"].status, d.tables["new"].added) == ("added", 2)
    td = store.diff("s", "main~1", key=["id"]).tables["t"]
    assert td.changed == 30 and "extra" in td.rows().column_names


def test_diff_against_another_branch_and_unchanged(store: Store):
    store.create_dataset("b")
    store.commit("b", generated(20), table="t")
    store.create_branch("b", "dev")
    store.commit("b", generated(20).assign(qty=0), table="t", branch="dev")
    d = store.diff("b", "dev", "main", key=["id"])
    assert d.tables["t"].changed == int((generated(20).qty != 0).sum())
    same = store.diff("b", "main", "main")
    assert same.tables["t"].status == "unchanged" and same.tables["t"].rows().num_rows == 0


def test_declared_key_is_used_by_default(store: Store, versions):
    store.set_table_key("d", "t", ["id"])
    assert store.table_key("d", "t") == ("id",)
    td = store.diff("d", "main~1").tables["t"]
    assert td.key == ("id",) and td.changed == 12


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda s: s.diff("nope", "main"), DatasetNotFound, "nope"),
    (lambda s: s.diff("d", "no-such-branch"), RevisionNotFound, "no-such-branch"),
    (lambda s: s.diff("d", "main~1", table="zzz"), TableNotFound, "zzz"),
    (lambda s: s.diff("d", "main~1", key=["missing"]), InvalidInput, "missing"),
    (lambda s: s.diff("d", "main~1", key=["qty"]), KeyViolation, "duplicated"),
    (lambda s: s.diff("d", "main~1", key=["name"]), KeyViolation, "null"),
    (lambda s: s.diff("d", "main~1", pair="hash"), InvalidInput, "pair"),
])
def test_bad_input(store: Store, versions, call, error, words):
    with pytest.raises(error, match=words):
        call(store)


def test_key_missing_in_one_side(store: Store):
    store.create_dataset("x")
    store.commit("x", generated(5), table="t")
    store.commit("x", generated(5).drop(columns=["qty"]).rename(columns={"id": "ident"}), table="t")
    with pytest.raises(InvalidInput, match="'id' is missing from table 't' in the target"):
        store.diff("x", "main~1", key=["id"])


def test_duplicate_key_names_value_and_rows(store: Store, versions):
    with pytest.raises(KeyViolation) as info:
        store.diff("d", "main~1", key=["qty"])
    assert info.value.value == {"qty": 0} or "qty" in str(info.value)
    assert len(info.value.rows) >= 2


def test_highlighter_csv_and_html(store: Store, tmp_path):
    df = generated(40)
    store.create_dataset("h")
    store.commit("h", df, table="t")
    setv = df.copy()
    setv.loc[3, "name"] = "=SUM(A1)"
    setv.loc[30, "qty"] = 77
    edited = pd.concat([setv.drop(index=10), generated(1, 5).assign(id=[500])]).reset_index(drop=True)
    store.commit("h", edited.assign(flag=True), table="t")
    d = store.diff("h", "main~1", key=["id"])
    lines = d.to_csv(tmp_path / "d.csv").read_text().splitlines()
    assert lines[0].startswith('"!"') and '"+++"' in lines[0]
    assert lines[1].split(",")[:3] == ['"@@"', '"id"', '"qty"']
    actions = [line.split(",")[0].strip('"') for line in lines[2:]]
    assert actions.count("---") == 1 and actions.count("+++") == 1 and actions.count("->") == 39
    changed = next(line for line in lines if line.startswith('"->","30"'))
    assert f"{df.qty[30]}->77" in changed
    formula = next(line for line in lines if line.startswith('"->","3"'))
    assert "=SUM(A1)" in formula and not any(cell.startswith('"=') for cell in formula.split(","))
    page = d.to_html(tmp_path / "d.html").read_text()
    assert 'class="remove"' in page and 'class="add"' in page and 'class="modify"' in page
    assert "&gt;" in page and "<script" not in page


def test_highlighter_marks_left_out_rows(store: Store, tmp_path):
    df = generated(100)
    store.create_dataset("g")
    store.commit("g", df, table="t")
    changed = df.copy()
    changed.loc[[10, 50], "qty"] = 99
    store.commit("g", changed, table="t")
    lines = store.diff("g", "main~1", key=["id"]).to_csv(tmp_path / "g.csv").read_text().splitlines()
    assert [line.split(",")[0].strip('"') for line in lines] == ["@@", "...", "->", "...", "->", "..."]


def test_empty_key_forces_a_keyless_diff(store: Store, versions):
    store.set_table_key("d", "t", ["id"])
    td = store.diff("d", "main~1", key=[]).tables["t"]
    assert td.key is None
    assert (td.added + td.changed, td.removed + td.changed) == pandas_multiset(*versions[:2])


def test_added_table_rows_are_read_page_by_page(store: Store):
    store.create_dataset("a")
    store.commit("a", generated(50), table="t")
    td = store.diff("a", "main~1").tables["t"]
    assert (td.status, td.added, td.rows_read) == ("added", 50, 0)
    page = td.rows(limit=3, offset=10).to_pylist()
    assert [(r["change"], r["logical_row_id"], r["id"]) for r in page] == [("+", 10, 10), ("+", 11, 11), ("+", 12, 12)]
    gone = store.diff("a", "main", "main~1").tables["t"]
    assert (gone.status, gone.removed, gone.rows().num_rows) == ("removed", 50, 50)
