"""The benchmark versions relate to each other exactly as documented."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dsa_pipelines_tests.bench.datagen import SCHEMA, VERSIONS, make_versions, plain_parquet_size

N = 10_000
ONE_PCT = N // 100


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    return make_versions(N, tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module")
def frames(versions: dict[str, dict[str, Path]]) -> dict[str, pd.DataFrame]:
    return {v: pq.read_table(p["parquet"]).to_pandas().set_index("id") for v, p in versions.items()}


def _changed_ids(old: pd.DataFrame, new: pd.DataFrame) -> pd.Index:
    """Ids present in both whose rows differ in any column (null equals null)."""
    common = old.index.intersection(new.index)
    a, b = old.loc[common], new.loc[common]
    differs = a.ne(b) & ~(a.isna() & b.isna())
    return common[differs.any(axis=1).to_numpy()]


def test_v1_has_the_documented_schema_and_shape(frames: dict[str, pd.DataFrame], versions) -> None:
    v1 = pq.read_table(versions["v1"]["parquet"])
    assert v1.schema.remove_metadata() == SCHEMA
    assert v1.num_rows == N
    assert v1["id"].to_pandas().is_unique
    df = frames["v1"]
    assert 0.03 < df["amount"].isna().mean() < 0.07
    assert 0.25 < df["note"].isna().mean() < 0.35
    assert df["category"].nunique() == 20
    assert df["name"].nunique() > N // 2


def test_v2_updates_one_percent_of_rows_in_amount_and_score(frames) -> None:
    v1, v2 = frames["v1"], frames["v2"]
    assert v2.index.equals(v1.index)
    changed = _changed_ids(v1, v2)
    assert len(changed) == ONE_PCT
    assert changed.min() < N // 10 and changed.max() > N - N // 10  # scattered, not a block
    others = v1.columns.difference(["amount", "score"])
    assert v1.loc[changed, others].equals(v2.loc[changed, others])


def test_v3_appends_one_percent_new_rows(frames) -> None:
    v2, v3 = frames["v2"], frames["v3"]
    assert len(v3) == N + ONE_PCT
    assert v3.iloc[:N].equals(v2)
    assert v3.index.is_unique


def test_v4_deletes_one_percent_of_rows_and_keeps_the_order(frames) -> None:
    v3, v4 = frames["v3"], frames["v4"]
    assert len(v4) == len(v3) - ONE_PCT
    assert v4.index.isin(v3.index).all()
    assert v4.equals(v3.loc[v4.index])
    assert v4.index.is_monotonic_increasing


def test_v5_is_a_byte_identical_reupload_of_v4(versions) -> None:
    for fmt in ("parquet", "csv"):
        assert versions["v5"][fmt].read_bytes() == versions["v4"][fmt].read_bytes()


def test_v6_changes_exactly_one_row(frames) -> None:
    v5, v6 = frames["v5"], frames["v6"]
    assert v6.index.equals(v5.index)
    assert len(_changed_ids(v5, v6)) == 1


def test_csv_holds_the_same_rows_as_parquet(versions) -> None:
    convert = pacsv.ConvertOptions(column_types=SCHEMA, strings_can_be_null=True)
    for v in VERSIONS:
        from_csv = pacsv.read_csv(versions[v]["csv"], convert_options=convert)
        assert from_csv.equals(pq.read_table(versions[v]["parquet"]).cast(SCHEMA)), v


def test_same_seed_same_files(tmp_path: Path, versions) -> None:
    again = make_versions(N, tmp_path, formats=("parquet",))
    assert again["v6"]["parquet"].read_bytes() == versions["v6"]["parquet"].read_bytes()


def test_baseline_is_v1_as_one_parquet_file(versions) -> None:
    path, size = plain_parquet_size(versions)
    assert path == versions["v1"]["parquet"]
    assert size == path.stat().st_size
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_rejects_too_few_rows(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 100"):
        make_versions(99, tmp_path)

