"""Statistical drift between commits: fires on shifts, quiet on resamples (every backend)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from dsa_pipelines.quality.distribution_drift import DriftThresholds, psi, stat_diff, tvd
from dsa_pipelines.storage import InvalidInput, Store

N = 2_000


def frame(seed: int, *, shift: float = 0.0, mix: float = 0.2, nulls: float = 0.0, n: int = N) -> pd.DataFrame:
    """Numbers ~ N(100 + shift, 15), categories a/b/c/d, a boolean, dates over a year."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(100 + shift, 15, n)
    amount[rng.random(n) < nulls] = np.nan
    probs = np.array([0.4, 0.3, 0.2, 0.1]) * (1 - mix) + np.array([0.1, 0.2, 0.3, 0.4]) * mix
    return pd.DataFrame({
        "amount": amount,
        "category": rng.choice(list("abcd"), n, p=probs / probs.sum()),
        "flag": rng.random(n) < 0.5,
        "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
    })


def two_commits(store: Store, before: dict, after: dict) -> str:
    store.create_dataset("d")
    store.commit("d", before, message="base")
    return store.commit("d", after, message="next").commit_id


def by_name(report, table: str = "t") -> dict:
    (t,) = [t for t in report.tables if t.table == table]
    return {c.name: c for c in t.columns}


def test_a_resampled_identical_distribution_stays_quiet(store: Store) -> None:
    cid = two_commits(store, {"t": frame(1)}, {"t": frame(2)})
    report = stat_diff(store, "d", cid)
    cols = by_name(report)
    assert report.alerts() == [] and report.alerts("moderate") == []
    assert report.verdict == "ok"
    assert cols["amount"].measure == "psi" and cols["amount"].value < 0.05
    assert cols["day"].measure == "psi" and cols["day"].value < 0.05
    assert cols["category"].measure == "tvd" and cols["category"].value < 0.05
    assert cols["flag"].measure == "tvd" and cols["flag"].value < 0.05


def test_a_shifted_distribution_fires(store: Store) -> None:
    cid = two_commits(store, {"t": frame(1)}, {"t": frame(2, shift=15.0, mix=0.9, nulls=0.3)})
    report = stat_diff(store, "d", cid)
    cols = by_name(report)
    assert cols["amount"].verdict == "significant" and cols["amount"].value >= 0.25
    assert cols["amount"].mean_shift == pytest.approx(1.0, abs=0.15)
    assert cols["amount"].null_rate[0] == 0.0 and cols["amount"].null_rate[1] == pytest.approx(0.3, abs=0.05)
    assert cols["category"].verdict == "significant" and cols["category"].value >= 0.2
    assert cols["flag"].verdict == "ok"
    assert {(t, c.name) for t, c in report.alerts()} == {("t", "amount"), ("t", "category")}
    assert report.verdict == "significant"
    # most severe first
    assert [c.verdict for c in report.tables[0].columns][:2] == ["significant", "significant"]
    md = report.to_markdown()
    assert "**significant**" in md and "`amount`" in md and "PSI" in md and "null rate 0.0% → " in md


def test_measures_match_hand_computation() -> None:
    assert psi([50, 50], [50, 50]) == 0.0
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi([50, 50], [80, 20]) == pytest.approx(expected)
    assert psi([100, 0], [50, 50]) == pytest.approx((0.5 - 1) * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4))
    assert tvd([1, 1, 2], [2, 1, 1]) == pytest.approx(0.25)
    assert tvd([5, 0], [0, 5]) == 1.0


def test_schema_changes_are_noted(store: Store) -> None:
    base = frame(1)
    after = base.drop(columns=["flag"]).assign(extra=1, category=np.arange(N))  # text → int
    cid = two_commits(store, {"t": base, "gone": base}, {"t": after, "new": base})
    store.commit("d", None, remove_tables=["gone"], message="drop")
    report = stat_diff(store, "d", "main", base="main~2")
    tables = {t.table: t for t in report.tables}
    assert tables["new"].change == "added" and tables["gone"].change == "removed"
    assert tables["new"].verdict == "schema"
    cols = by_name(report)
    assert cols["flag"].change == "removed" and cols["extra"].change == "added"
    assert cols["category"].change == "rekinded" and cols["category"].verdict == "schema"
    assert cols["amount"].verdict == "ok"
    md = report.to_markdown()
    assert "Added columns: `extra`" in md and "Removed columns: `flag`" in md and "— added" in md
    assert report.commit_id == store.resolve("d", "main") and cid != report.commit_id


def test_a_retyped_column_is_still_compared(store: Store) -> None:
    ints = pd.DataFrame({"x": np.arange(N, dtype=np.int64) % 100})
    cid = two_commits(store, {"t": ints}, {"t": ints.astype({"x": "float64"}).assign(x=lambda f: f.x + 50)})
    x = by_name(stat_diff(store, "d", cid))["x"]
    assert x.change == "retyped" and x.types == ("int", "float")
    assert x.measure == "psi" and x.verdict == "significant"


def test_every_table_of_a_commit_is_compared(store: Store) -> None:
    cid = two_commits(store, {"a": frame(1), "b": frame(3)}, {"a": frame(2), "b": frame(4, shift=30)})
    report = stat_diff(store, "d", cid)
    assert [t.table for t in report.tables] == ["b", "a"]  # most severe first
    assert by_name(report, "b")["amount"].verdict == "significant"
    assert by_name(report, "a")["amount"].verdict == "ok"


def test_unchanged_tables_measure_zero_without_reading(store: Store) -> None:
    same = frame(1)
    cid = two_commits(store, {"a": same, "b": frame(2)}, {"b": frame(3)})  # a is kept from the parent
    cols = by_name(stat_diff(store, "d", cid), "a")
    assert {c.value for c in cols.values()} == {0.0} and {c.verdict for c in cols.values()} == {"ok"}


def test_thresholds_come_from_dataset_settings(store: Store) -> None:
    cid = two_commits(store, {"t": frame(1)}, {"t": frame(2, shift=6.0)})
    assert stat_diff(store, "d", cid).alerts() == []
    store.update_dataset("d", settings={"drift_thresholds": {"psi_moderate": 0.05, "psi_significant": 0.1}})
    report = stat_diff(store, "d", cid)
    assert report.thresholds.psi_significant == 0.1
    assert [c.name for _, c in report.alerts()] == ["amount"]
    store.update_dataset("d", settings={"drift_thresholds": {"psi_big": 1}})
    with pytest.raises(InvalidInput, match="unknown setting"):
        stat_diff(store, "d", cid)
    with pytest.raises(InvalidInput, match="psi_moderate"):
        DriftThresholds(psi_moderate=0.5, psi_significant=0.1)


def test_too_few_rows_give_no_verdict(store: Store) -> None:
    cid = two_commits(store, {"t": frame(1, n=5)}, {"t": frame(2, n=5, shift=100)})
    cols = by_name(stat_diff(store, "d", cid))
    assert cols["amount"].verdict == "n/a" and "fewer than 20 rows" in cols["amount"].reasons[-1]


def test_first_commit_against_the_empty_root_and_empty_tables(store: Store) -> None:
    store.create_dataset("d")
    first = store.commit("d", {"t": frame(1).iloc[:0]}, message="empty").commit_id
    report = stat_diff(store, "d", first)
    assert [(t.table, t.change) for t in report.tables] == [("t", "added")]
    second = store.commit("d", {"t": frame(2)}, message="rows").commit_id
    cols = by_name(stat_diff(store, "d", second))
    assert cols["amount"].verdict == "n/a" and cols["amount"].value is None


def test_temporal_and_null_rate_drift(store: Store) -> None:
    base = frame(1)
    later = frame(2).assign(day=lambda f: f.day + dt.timedelta(days=200))
    later.loc[later.index[: N // 4], "category"] = None
    cols = by_name(stat_diff(store, "d", two_commits(store, {"t": base}, {"t": later})))
    assert cols["day"].verdict == "significant" and cols["day"].measure == "psi"
    assert cols["category"].null_rate == (0.0, 0.25) and cols["category"].verdict == "significant"
    assert any("null rate" in r for r in cols["category"].reasons)


def test_a_wide_table_drifts_in_few_queries(store: Store) -> None:
    rng = np.random.default_rng(5)
    wide = pd.DataFrame({f"c{i:04d}": rng.normal(0, 1, 50) for i in range(1000)})
    moved = wide.copy()
    moved["c0007"] += 5
    cols = by_name(stat_diff(store, "d", two_commits(store, {"t": wide}, {"t": moved})))
    assert len(cols) == 1000
    assert cols["c0007"].verdict == "significant"
    assert sum(c.verdict != "ok" for c in cols.values()) == 1
