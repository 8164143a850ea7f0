"""Reader rules and their messages: every error names file, line/row (or byte offset) and column (issue 12)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsa_pipelines.storage import InvalidFile, InvalidInput, Store
from dsa_pipelines.storage.readers import open_sources


def test_nested_parquet_columns_are_refused_naming_every_one_and_the_file(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"id": [1], "tags": [["a", "b"]], "point": [{"x": 1, "y": 2}],
                             "attrs": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64()))}), path)
    with pytest.raises(InvalidFile) as e:
        open_sources(path)
    message = str(e.value)
    assert str(path) in message and all(f"'{c}'" in message for c in ("tags", "point", "attrs"))
    assert "'id'" not in message and e.value.column == "tags" and len(e.value.columns) == 3


def test_nested_columns_of_an_in_memory_table_are_named_too(store: Store):
    store.create_dataset("d")
    with pytest.raises(InvalidInput, match="'a'.*'b'"):
        store.commit("d", pa.table({"a": [[1]], "b": [{"x": 1}], "c": [1]}), table="t")


def test_a_parquet_file_without_columns_says_so(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({}), path)
    with pytest.raises(InvalidFile, match="has no columns"):
        open_sources(path)


def test_a_nul_byte_in_a_csv_names_line_field_and_byte_offset(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n4,x\x00y,6\n")
    with pytest.raises(InvalidFile, match=r"line 3, field 2 \(byte offset 15\)") as e:
        open_sources(path)[0].to_table()
    assert (e.value.line, e.value.column, e.value.byte_offset, e.value.path) == (3, "2", 15, str(path))
    late = tmp_path / "late.csv"
    late.write_bytes(b"a,b\n" + b"1,2\n" * 300_000 + b"3,\x00\n")
    with pytest.raises(InvalidFile, match=r"line 300002, field 2"):
        open_sources(late)[0].to_table()


def test_the_csv_line_cap_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n1," + "x" * 5000 + "\n2,y\n")
    assert open_sources(path)[0].to_table().num_rows == 2
    monkeypatch.setenv("DSA_CSV_MAX_LINE_BYTES", "1000")
    with pytest.raises(InvalidFile, match=r"line 2: row is longer than the CSV reader's limit of 1,000 bytes"):
        open_sources(path)[0].to_table()
