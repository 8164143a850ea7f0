"""Per-commit statistics: values against a pandas reference, caching, bad input (every backend)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from dsa_pipelines.quality.statistics import (
    _save,
    commits_without_statistics,
    compute_statistics,
    load_statistics,
    store_statistics,
)
from dsa_pipelines.quality.tables import commit_statistics
from dsa_pipelines.storage import InvalidInput, RevisionNotFound, Store, TableNotFound


def mixed(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Numbers with nulls and zeros, categories with distinct frequencies, booleans, dates."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(50, 10, n).round(3)
    amount[::9] = np.nan
    count = rng.integers(0, 5, n).astype("float64")
    count[::11] = np.nan
    cats = np.repeat([f"c{i:02d}" for i in range(24)], np.arange(24, 0, -1))  # c00 ×24, c01 ×23, ...
    category = pd.Series(rng.permutation(np.resize(cats, n)), dtype=object)
    category[::13] = None
    return pd.DataFrame({
        "amount": amount,
        "count": pd.array(count, dtype="Int64"),
        "category": category,
        "active": rng.random(n) > 0.3,
        "day": [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 400, n)],
    })


def committed(store: Store, frames: dict[str, pd.DataFrame | pa.Table], dataset: str = "d") -> str:
    if dataset not in {d.name for d in store.list_datasets()}:
        store.create_dataset(dataset)
    return store.commit(dataset, frames, message="upload").commit_id


def test_statistics_match_a_pandas_reference(store: Store) -> None:
    cid = committed(store, {"t": mixed()})
    stats = store_statistics(store, "d", cid)["t"]
    ref = store.read_table("d", cid, "t").table.to_pandas()
    assert stats.row_count == len(ref) == 300
    assert stats.bytes == store.read_table("d", cid, "t").table.nbytes
    assert [c.name for c in stats.columns] == list(ref.columns)
    for c in stats.columns:
        s = ref[c.name]
        assert c.nulls == int(s.isna().sum()), c.name
        assert c.null_rate == pytest.approx(s.isna().mean())
        assert c.count == int(s.notna().sum())
        assert c.distinct == s.nunique() and c.distinct_exact
    for name in ("amount", "count"):
        c, s = stats.column(name), ref[name].dropna().astype(float)
        assert c.kind == "numeric"
        assert (c.min, c.max) == (s.min(), s.max())
        assert c.mean == pytest.approx(s.mean(), rel=1e-12)
        assert c.stddev == pytest.approx(s.std(ddof=1), rel=1e-9)
        assert c.zeros == int((s == 0).sum())
        for key, q in {"p1": 0.01, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p99": 0.99}.items():
            assert c.quantiles[key] == pytest.approx(s.quantile(q), rel=1e-9, abs=1e-12), (name, key)
        assert c.deciles == pytest.approx([s.quantile(q / 10) for q in range(1, 10)])
    assert isinstance(stats.column("count").min, int)
    cat, s = stats.column("category"), ref["category"].dropna()
    assert cat.kind == "text" and cat.logical == "string"
    assert list(cat.top_values) == sorted(s.value_counts().items(), key=lambda t: (-t[1], t[0]))[:10]
    lengths = s.str.len()
    assert (cat.min_length, cat.max_length) == (lengths.min(), lengths.max())
    assert cat.mean_length == pytest.approx(lengths.mean())
    assert cat.numeric_values == 0
    active = stats.column("active")
    assert (active.kind, active.true_count, active.false_count) == (
        "boolean", int(ref["active"].sum()), int((~ref["active"]).sum()))
    day = stats.column("day")
    assert (day.kind, day.min, day.max) == ("temporal", min(ref["day"]).isoformat(), max(ref["day"]).isoformat())


def test_statistics_are_computed_once_and_read_back(store: Store) -> None:
    cid = committed(store, {"t": mixed(50)})
    assert commits_without_statistics(store) == [("d", cid)]
    first = store_statistics(store, "d", cid)
    with store.catalog_read() as conn:
        rows = conn.execute(sa.select(commit_statistics.c.commit_id, commit_statistics.c.table_name)).all()
    assert [tuple(r) for r in rows] == [(cid, "t")]
    again = store_statistics(store, "d", "main")
    assert again == first and again["t"].computed_at == first["t"].computed_at
    assert load_statistics(store, cid) == first
    assert commits_without_statistics(store) == []


def test_a_concurrent_writer_wins_and_its_statistics_are_kept(store: Store) -> None:
    cid = committed(store, {"t": mixed(20)})
    rows = store.read_table("d", cid, "t").table
    theirs = _save(store, compute_statistics(rows, cid, "t"))
    ours = compute_statistics(rows, cid, "t")
    assert ours.computed_at != theirs.computed_at
    assert _save(store, ours) == theirs  # the primary key refused ours; theirs is returned
    assert store_statistics(store, "d", cid)["t"] == theirs


def test_every_table_of_a_commit_gets_statistics(store: Store) -> None:
    cid = committed(store, {"a": mixed(40), "b": pd.DataFrame({"x": [1, 2, 3]})})
    stats = store_statistics(store, "d", cid)
    assert sorted(stats) == ["a", "b"]
    assert (stats["a"].row_count, stats["b"].row_count) == (40, 3)
    assert list(store_statistics(store, "d", cid, table="b")) == ["b"]
    with pytest.raises(TableNotFound, match="no table 'zz'"):
        store_statistics(store, "d", cid, table="zz")
    with pytest.raises(RevisionNotFound):
        store_statistics(store, "d", "nope")


def test_zero_rows(store: Store) -> None:
    empty = pa.table({"n": pa.array([], pa.int64()), "s": pa.array([], pa.string()),
                      "b": pa.array([], pa.bool_()), "t": pa.array([], pa.timestamp("us"))})
    stats = store_statistics(store, "d", committed(store, {"t": empty}))["t"]
    assert stats.row_count == 0
    for c in stats.columns:
        assert (c.count, c.nulls, c.null_rate, c.distinct) == (0, 0, 0.0, 0)
    n = stats.column("n")
    assert (n.min, n.mean, n.quantiles, n.deciles) == (None, None, None, None)
    assert stats.column("s").top_values == ()
    assert (stats.column("b").true_count, stats.column("b").false_count) == (0, 0)


def test_all_null_columns(store: Store) -> None:
    table = pa.table({"f": pa.array([None] * 5, pa.float64()), "s": pa.array([None] * 5, pa.string()),
                      "n": pa.nulls(5), "k": pa.array(range(5), pa.int64())})
    stats = store_statistics(store, "d", committed(store, {"t": table}))["t"]
    for name in ("f", "s", "n"):
        c = stats.column(name)
        assert (c.nulls, c.null_rate, c.count, c.distinct) == (5, 1.0, 0, 0)
    assert stats.column("f").mean is None and stats.column("f").quantiles is None
    assert stats.column("s").top_values == () and stats.column("s").mean_length is None
    assert stats.column("k").mean == 2.0


def test_a_single_column(store: Store) -> None:
    stats = store_statistics(store, "d", committed(store, {"t": pd.DataFrame({"x": [5.0]})}))["t"]
    (x,) = stats.columns
    assert (x.min, x.max, x.mean, x.quantiles["p50"]) == (5.0, 5.0, 5.0, 5.0)
    assert x.stddev is None  # a sample standard deviation needs two values


def test_a_very_wide_table(store: Store) -> None:
    rng = np.random.default_rng(3)
    columns = {f"n{i:04d}": rng.integers(0, 10, 30) for i in range(500)}
    columns |= {f"s{i:04d}": [f"v{v}" for v in rng.integers(0, 4, 30)] for i in range(500)}
    frame = pd.DataFrame(columns)
    stats = store_statistics(store, "d", committed(store, {"wide": frame}))["wide"]
    assert len(stats.columns) == 1000
    assert stats.column("n0499").mean == pytest.approx(frame["n0499"].mean())
    assert stats.column("s0499").distinct == frame["s0499"].nunique()
    counts = frame["s0000"].value_counts()
    assert list(stats.column("s0000").top_values) == sorted(counts.items(), key=lambda t: (-t[1], t[0]))


def test_numbers_stored_as_text_stay_text(store: Store) -> None:
    values = ["1", "2.5", "3", "n/a", "4", None, "1e3", "  7 ", "-2", "x"]
    stats = store_statistics(store, "d", committed(store, {"t": pd.DataFrame({"v": values})}))["t"]
    v = stats.column("v")
    assert (v.kind, v.logical, v.nulls, v.distinct) == ("text", "string", 1, 9)
    assert v.numeric_values == 7  # '1', '2.5', '3', '4', '1e3', '  7 ', '-2'
    assert v.mean is None and v.min is None


def test_non_finite_floats_are_counted_apart() -> None:
    table = pa.table({"f": pa.array([1.0, float("nan"), float("inf"), 3.0, None])})
    f = compute_statistics(table, "c" * 64, "t").column("f")
    assert (f.count, f.nulls, f.non_finite) == (4, 1, 2)
    assert (f.min, f.max, f.mean) == (1.0, 3.0, 2.0)
    assert all(not isinstance(v, float) or math.isfinite(v) for v in f.quantiles.values())


def test_distinct_turns_approximate_above_the_limit() -> None:
    table = pa.table({"k": pa.array(np.arange(5000) % 1000), "s": [f"s{i % 10}" for i in range(5000)]})
    stats = compute_statistics(table, "c" * 64, "t", exact_distinct_max_rows=100)
    assert not stats.column("k").distinct_exact
    assert stats.column("k").distinct == pytest.approx(1000, rel=0.1)
    assert stats.column("s").distinct_exact and stats.column("s").distinct == 10


def test_find_commit_by_prefix_across_datasets(store: Store) -> None:
    a = committed(store, {"t": pd.DataFrame({"x": [1]})}, "a")
    b = committed(store, {"t": pd.DataFrame({"x": [2]})}, "b")
    assert store.find_commit(a[:12]).dataset == "a"
    assert store.find_commit(b[:12].upper()).id == b
    with pytest.raises(RevisionNotFound, match="no commit"):
        store.find_commit("0123456789ab" if not a.startswith("0123") else "fedcba987654")
    with pytest.raises(InvalidInput, match="hex digits"):
        store.find_commit("main")
