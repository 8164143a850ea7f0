"""Profiling reports: HTML stored as an object, summary in the catalog, deterministic samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from dsa_pipelines.quality.profiling import load_profiles, profile_commit, sample_row_ids
from dsa_pipelines.quality.tables import commit_profiles
from dsa_pipelines.storage import DatasetNotFound, InvalidInput, RevisionNotFound, Store

# ydata-profiling announces its rename (to fg-data-profiling) on import; warnings are
# errors here, so exactly that third-party notice is filtered.
pytestmark = [
    pytest.mark.filterwarnings(r"ignore:\s*`import ydata_profiling` is deprecated:DeprecationWarning"),
]


def frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    amount = rng.normal(10, 2, n)
    amount[::5] = np.nan
    return pd.DataFrame({
        "amount_eur": amount,
        "customer_name": [f"name {i % 13}" for i in range(n)],
        "is_active": rng.random(n) > 0.5,
        "signup_day": pd.date_range("2024-01-01", periods=n, freq="D"),
    })


def test_profile_html_is_stored_and_summarised(store: Store) -> None:
    store.create_dataset("shop")
    cid = store.commit("shop", {"orders": frame()}, message="v1").commit_id
    (summary,) = profile_commit(store, "shop", cid).values()
    html = store.read_report(summary.report_id, ".html").decode("utf-8")
    for column in ("amount_eur", "customer_name", "is_active", "signup_day"):
        assert column in html
    assert f"shop / orders @ {cid[:12]}" in html
    assert summary.path.endswith(".html") and open(summary.path, encoding="utf-8").read() == html
    assert (summary.row_count, summary.sample_rows, summary.n_vars, summary.sampled) == (60, 60, 4, False)
    assert summary.missing_cells_pct == pytest.approx(100 * 12 / 240)
    assert any("amount_eur" in a and "missing" in a for a in summary.alerts)
    with store.catalog_read() as conn:
        row = conn.execute(sa.select(commit_profiles)).one()
    assert (row.commit_id, row.table_name, row.report_id) == (cid, "orders", summary.report_id)
    assert len(row.summary) < 5_000  # a small summary, never ydata's JSON
    assert load_profiles(store, cid) == {"orders": summary}
    assert profile_commit(store, "shop", cid)["orders"] == summary  # reused, not recomputed


def test_large_tables_are_sampled_deterministically(store: Store) -> None:
    store.create_dataset("shop")
    cid = store.commit("shop", {"orders": frame(200)}, message="v1").commit_id
    summary = profile_commit(store, "shop", cid, sample_rows=50)["orders"]
    assert (summary.row_count, summary.sample_rows, summary.sampled) == (200, 50, True)
    html = open(summary.path, encoding="utf-8").read()
    assert "sample of 50 of 200 rows" in html
    again = profile_commit(store, "shop", cid, sample_rows=50, force=True)["orders"]
    assert again.created_at != summary.created_at and again.sample_rows == 50
    ids = sample_row_ids(200, 50, seed=42)
    assert np.array_equal(ids, sample_row_ids(200, 50, seed=42)) and len(np.unique(ids)) == 50
    assert ids.min() >= 0 and ids.max() < 200 and np.all(np.diff(ids) > 0)
    assert sample_row_ids(40, 50, seed=1) is None
    with pytest.raises(InvalidInput, match="sample size"):
        profile_commit(store, "shop", cid, sample_rows=0)


def test_every_table_gets_a_profile_and_duplicates_are_counted(store: Store) -> None:
    store.create_dataset("shop")
    dup = pd.DataFrame({"k": [1, 1, 2, 2, 2, 3], "v": ["a", "a", "b", "b", "b", "c"]})
    cid = store.commit("shop", {"orders": frame(), "dup": dup}, message="two").commit_id
    profiles = profile_commit(store, "shop", cid)
    assert sorted(profiles) == ["dup", "orders"]
    assert profiles["dup"].duplicate_rows_pct == pytest.approx(100 * 3 / 6)
    assert profiles["orders"].duplicate_rows_pct == 0.0
    assert profiles["dup"].report_id != profiles["orders"].report_id


def test_an_empty_table_gets_a_plain_report(store: Store) -> None:
    store.create_dataset("shop")
    empty = pa.table({"only_col": pa.array([], pa.int64())})
    cid = store.commit("shop", {"orders": empty}, message="empty").commit_id
    summary = profile_commit(store, "shop", cid)["orders"]
    html = open(summary.path, encoding="utf-8").read()
    assert "no rows" in html and "only_col" in html
    assert (summary.row_count, summary.sample_rows, summary.n_vars) == (0, 0, 1)


def test_profiling_a_missing_commit_is_a_clear_error(store: Store) -> None:
    store.create_dataset("shop")
    with pytest.raises(RevisionNotFound, match="abcdef123456"):
        profile_commit(store, "shop", "abcdef123456")
    with pytest.raises(DatasetNotFound, match="'nope'"):
        profile_commit(store, "nope", "main")
