"""Exports (CSV / Parquet / Excel) and format independence of row identity."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from dsa_pipelines.storage import InvalidInput, Store
from dsa_pipelines_tests.storage.helpers import people

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def _same_table_three_ways(tmp_path: Path) -> tuple[Path, Path, Path]:
    frame = pd.DataFrame({
        "id": [1, 2, 3, 4],
        "name": ["Zoë", "Łukasz", "plain", "with, comma"],
        "score": [1.5, 2.25, None, -0.0],
        "ok": [True, False, True, None],
    })
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False)
    xlsx = tmp_path / "t.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as w:
        frame.to_excel(w, sheet_name="t", index=False)
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet)
    return csv, xlsx, parquet


def test_same_rows_from_csv_excel_parquet_have_the_same_identity(store: Store, tmp_path: Path):
    csv, xlsx, parquet = _same_table_three_ways(tmp_path)
    store.create_dataset("f")
    first = store.commit("f", csv, table="t")
    assert first.tables["t"].stored_rows == 4
    for path in (xlsx, parquet):
        res = store.commit("f", path, table="t") if path.suffix != ".xlsx" else store.commit("f", path, sheets=["t"])
        assert res.tables["t"].reused_rows == 4, path
        assert res.status == "no_changes", path


def test_excel_workbook_is_one_commit_with_a_table_per_sheet(store: Store):
    store.create_dataset("sales")
    res = store.commit("sales", SAMPLES / "sales.xlsx", message="workbook")
    assert sorted(res.tables) == ["orders", "products"]
    tables = {t.name: t for t in store.list_tables("sales")}
    assert tables["orders"].row_count > 0 and tables["products"].row_count > 0
    order_date = {c.name: c for c in tables["orders"].columns}["order_date"]
    assert order_date.logical == "date"


def test_several_files_in_one_commit(store: Store):
    store.create_dataset("mix")
    res = store.commit("mix", [SAMPLES / "customers.csv", SAMPLES / "transactions.parquet"])
    assert sorted(res.tables) == ["customers", "transactions"]
    assert len(store.log("mix")) == 2


def test_export_csv_neutralises_formulas_and_keeps_data_verbatim(store: Store, tmp_path: Path):
    store.create_dataset("x")
    frame = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "cell": ["=SUM(A1:A2)", "+1", "-2", "@cmd", "\tx", "safe"]})
    store.commit("x", frame, table="t")
    out = store.export("x", "main", tmp_path / "out.csv")
    back = pacsv.read_csv(out).column("cell").to_pylist()
    assert back == ["'=SUM(A1:A2)", "'+1", "'-2", "'@cmd", "'\tx", "safe"]
    assert store.read_table("x").table.column("cell").to_pylist()[0] == "=SUM(A1:A2)"
    pq_out = store.export("x", "main", tmp_path / "out.parquet")
    assert pq.read_table(pq_out).column("cell").to_pylist()[0] == "=SUM(A1:A2)"


def test_export_whole_commit_to_excel(store: Store, tmp_path: Path):
    store.create_dataset("x")
    store.commit("x", {"a": people(5), "b": pd.DataFrame({"f": ["=1+1", "ok"]})})
    out = store.export("x", "main", tmp_path / "all.xlsx")
    sheets = pd.read_excel(out, sheet_name=None)
    assert sorted(sheets) == ["a", "b"]
    assert len(sheets["a"]) == 5
    assert sheets["b"]["f"].tolist() == ["'=1+1", "ok"]
    with pytest.raises(InvalidInput, match="format"):
        store.export("x", "main", tmp_path / "out.json")


def test_export_streams_a_larger_table_in_order(store: Store, tmp_path: Path):
    store.create_dataset("big")
    frame = pd.DataFrame({"i": range(600_000)})
    store.commit("big", frame, table="t")
    out = store.export("big", "main", tmp_path / "big.parquet")
    assert pq.read_table(out).column("i").to_pylist() == list(range(600_000))
