"""Exports a user can shape: ``columns=`` and ``where=`` (a checked DuckDB expression)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dsa_pipelines.storage import InvalidInput, Store
from dsa_pipelines.storage.row_filter import filter_batches, parse_filter

SCHEMA = pa.schema([("id", pa.int64()), ("country", pa.string()), ("amount", pa.float64())])


def _orders() -> pd.DataFrame:
    return pd.DataFrame({"id": range(1, 1001), "country": ["FR", "DE", "ES", None] * 250,
                         "amount": [float(i % 300) for i in range(1000)]})


def test_columns_and_where_shape_a_csv_and_a_parquet_export(store: Store, tmp_path: Path) -> None:
    store.commit("shop", {"orders": _orders()}, create_dataset=True)
    csv = store.export("shop", "main", tmp_path / "fr.csv", columns=["amount", "id"],
                       where="country = 'FR' AND amount >= 100")
    got = pacsv.read_csv(csv).to_pandas()
    expected = _orders().query("country == 'FR' and amount >= 100")[["amount", "id"]].reset_index(drop=True)
    assert list(got.columns) == ["amount", "id"] and len(got) == len(expected) > 0
    assert got["id"].tolist() == expected["id"].tolist()  # upload order kept
    parquet = store.export("shop", "main", tmp_path / "nulls.parquet", where="country IS NULL")
    assert pq.read_table(parquet).num_rows == 250 and pq.read_table(parquet).schema.names == SCHEMA.names
    none = store.export("shop", "main", tmp_path / "none.csv", where="amount > 1e9", columns=["id"])
    assert none.read_text().splitlines() == ['"id"']


def test_an_excel_export_of_the_whole_commit_filters_every_sheet(store: Store, tmp_path: Path) -> None:
    store.commit("shop", {"orders": _orders(), "refunds": _orders().head(10)}, create_dataset=True)
    xlsx = store.export("shop", "main", tmp_path / "all.xlsx", where="id <= 3", columns=["id", "country"])
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert {name: frame["id"].tolist() for name, frame in sheets.items()} == {"orders": [1, 2, 3], "refunds": [1, 2, 3]}


@pytest.mark.parametrize(("where", "problem"), [
    ("amount > 1; DROP TABLE t", "SELECT"),
    ("id IN (SELECT 1 FROM read_csv('/etc/passwd'))", "subquery"),
    ("EXISTS (SELECT 1)", "subquery"),
    ("amount > 1 UNION SELECT 2", "plain condition"),
    ("amount > 1 ORDER BY 1", "plain condition"),
    ("1 = 1 LIMIT 1", "plain condition"),
    ("amount > 1) OR (1 = 1", "syntax error"),
    ("row_number() OVER () > 1", "window"),
    ("sum(amount) > 1", "aggregates"),
    ("price > 1", "no column 'price'"),
    ("$1 > 0", "parameter"),
    ("", "non-empty"),
])
def test_a_filter_that_is_not_a_plain_expression_is_refused_and_nothing_is_written(
    store: Store, tmp_path: Path, where: str, problem: str
) -> None:
    store.commit("shop", {"orders": _orders()}, create_dataset=True)
    with pytest.raises(InvalidInput, match=problem) as raised:
        store.export("shop", "main", tmp_path / "exports" / "out.csv", where=where)
    assert raised.value.fields["where"] == where
    assert not (tmp_path / "exports").exists()


def test_an_unknown_column_or_a_bad_value_is_refused_before_a_file_exists(store: Store, tmp_path: Path) -> None:
    store.commit("shop", {"orders": _orders()}, create_dataset=True)
    with pytest.raises(InvalidInput, match="no column"):
        store.export("shop", "main", tmp_path / "exports" / "out.csv", columns=["id", "nope"])
    with pytest.raises(InvalidInput, match="cannot filter rows"):  # caught when the rows are read
        store.export("shop", "main", tmp_path / "exports" / "out.parquet", where="amount > 'lots'")
    assert list((tmp_path / "exports").iterdir()) == []  # the temporary file is gone too


def test_the_filter_runs_without_file_access() -> None:
    row_filter = parse_filter("lower(country) = 'fr'", SCHEMA)
    assert row_filter.columns == ("country",)
    batch = pa.table({"id": [1, 2, 3], "country": ["FR", None, "de"], "amount": [1.0, 2.0, 3.0]}, schema=SCHEMA)
    [kept] = list(filter_batches([batch], row_filter))
    assert kept.column("id").to_pylist() == [1] and kept.schema == SCHEMA


@pytest.mark.parametrize(("name", "compression", "opener"), [
    ("o.csv.gz", None, lambda p: pacsv.read_csv(pa.CompressedInputStream(pa.OSFile(str(p)), "gzip"))),
    ("o.csv.zst", "zstd", lambda p: pacsv.read_csv(pa.CompressedInputStream(pa.OSFile(str(p)), "zstd"))),
    ("o.csv", None, lambda p: pacsv.read_csv(p)),
    ("o.parquet", "snappy", lambda p: pq.read_table(p)),
    ("o.parquet", None, lambda p: pq.read_table(p)),
])
def test_compressed_exports(store: Store, tmp_path: Path, name: str, compression: str | None, opener) -> None:  # noqa: ANN001
    store.commit("shop", {"orders": _orders()}, create_dataset=True)
    path = store.export("shop", "main", tmp_path / name, compression=compression, where="id <= 10")
    assert opener(path).num_rows == 10
    if name.endswith(".parquet"):
        expected = (compression or "zstd").upper()
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == expected


@pytest.mark.parametrize(("name", "compression"), [("o.csv", "snappy"), ("o.xlsx", "gzip"), ("o.parquet", "rar")])
def test_a_codec_the_format_does_not_offer_is_refused(store: Store, tmp_path: Path, name: str,
                                                      compression: str) -> None:
    store.commit("shop", {"orders": _orders()}, create_dataset=True)
    with pytest.raises(InvalidInput, match="cannot compress"):
        store.export("shop", "main", tmp_path / "exports" / name, compression=compression)
    assert not (tmp_path / "exports").exists()
