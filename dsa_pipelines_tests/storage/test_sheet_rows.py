"""Hostile workbooks: zip bombs, empty-row floods, uncalculated formulas, Excel's 1900-02-29 (issue 12)."""

from __future__ import annotations

import pytest

from dsa_pipelines.storage import InvalidFile
from dsa_pipelines.storage.readers import open_sources
from dsa_pipelines_tests.xlsx_bombs import empty_rows_bomb, serial_60, uncalculated_formulas, workbook_with_rows


def test_a_sheet_that_inflates_hundreds_of_times_is_refused_before_parsing(tmp_path):
    bomb = empty_rows_bomb(tmp_path / "bomb.xlsx", 200_000)  # ~17 MB of XML from ~60 KB
    with pytest.raises(InvalidFile, match="zip bomb.*DSA_XLSX_MAX_RATIO") as e:
        open_sources(bomb)
    assert e.value.member == "xl/worksheets/sheet1.xml" and e.value.path == str(bomb)


def test_the_inflated_size_cap_is_configurable(tmp_path, monkeypatch):
    book = workbook_with_rows(tmp_path / "big.xlsx", [["a", "b"]] + [[i, f"row {i}"] for i in range(5000)])
    assert open_sources(book)[0].row_count_hint == 5000
    monkeypatch.setenv("DSA_XLSX_MAX_INFLATED_BYTES", "50000")
    with pytest.raises(InvalidFile, match="DSA_XLSX_MAX_INFLATED_BYTES"):
        open_sources(book)


def test_trailing_empty_rows_cost_nothing_but_parsing_when_the_ratio_is_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("DSA_XLSX_MAX_RATIO", "100000")
    (source,) = open_sources(empty_rows_bomb(tmp_path / "rows.xlsx", 200_000))
    assert source.row_count_hint == 2
    assert source.to_table().to_pylist() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_formulas_without_a_cached_value_are_refused_naming_the_cells(tmp_path):
    with pytest.raises(InvalidFile, match=r"sheet 'data'.*cells B2, B3 hold formulas without a cached value") as e:
        open_sources(uncalculated_formulas(tmp_path / "f.xlsx"))
    assert e.value.cells == ["B2", "B3"]


def test_excels_nonexistent_1900_02_29_is_refused_naming_the_cell(tmp_path):
    with pytest.raises(InvalidFile, match=r"cells A3 hold the date serial 60"):
        open_sources(serial_60(tmp_path / "d.xlsx"))
