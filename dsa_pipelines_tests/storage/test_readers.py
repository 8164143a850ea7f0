"""Source readers: CSV, Excel, Parquet and in-memory tables as Arrow batch streams."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsa_pipelines.storage.errors import InvalidFile, InvalidInput
from dsa_pipelines.storage.readers import BATCH_ROWS, SourceTable, open_sources, sniff, source_from_frame


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def only(paths, **kwargs) -> SourceTable:
    [source] = open_sources(paths, **kwargs)
    return source


def rows_of(source: SourceTable) -> list[dict]:
    return source.to_table().to_pylist()


@contextlib.contextmanager
def raises(exc_type, *fragments):
    """Expect ``exc_type`` with a message containing every fragment."""
    with pytest.raises(exc_type) as info:
        yield info
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


# --- CSV: happy paths --------------------------------------------------------------


def test_csv_types(tmp_path):
    path = write(tmp_path / "orders.csv", (
        "id,price,name,paid,day,at\n"
        "1,2.5,café,true,2024-01-31,2024-01-31 10:20:30\n"
        "2,,Zoë 東京,false,2024-02-01,2024-02-01 00:00:01\n"
        "3,-0.25,plain,true,2024-02-02,2024-02-02 23:59:59\n"
    ))
    source = only(path)
    assert (source.name, source.origin, source.to_table().num_rows) == ("orders", str(path), 3)
    assert source.schema == pa.schema([
        ("id", pa.int64()), ("price", pa.float64()), ("name", pa.string()), ("paid", pa.bool_()),
        ("day", pa.date32()), ("at", pa.timestamp("us")),
    ])
    assert rows_of(source)[1] == {
        "id": 2, "price": None, "name": "Zoë 東京", "paid": False, "day": dt.date(2024, 2, 1),
        "at": dt.datetime(2024, 2, 1, 0, 0, 1)}


def test_csv_bom_quotes_and_embedded_newlines(tmp_path):
    path = write(tmp_path / "t.csv", b'\xef\xbb\xbfkey,text\n1,"a, b"\n2,"line one\nline ""two"""\n')
    source = only(path)
    assert source.schema.names == ["key", "text"]
    assert [r["text"] for r in rows_of(source)] == ["a, b", 'line one\nline "two"']


def test_csv_empty_unquoted_is_null_and_quoted_empty_is_empty_string(tmp_path):
    path = write(tmp_path / "t.csv", 'a,b\n1,\n2,""\n3,x\n')
    assert [r["b"] for r in rows_of(only(path))] == [None, "", "x"]


def test_csv_header_names_are_stripped_and_leading_zeros_kept(tmp_path):
    path = write(tmp_path / "t.csv", " zip , n\n00123,1\n04567,2\n")
    source = only(path)
    assert source.schema.names == ["zip", "n"]
    assert [r["zip"] for r in rows_of(source)] == ["00123", "04567"]


def test_csv_column_that_turns_textual_late_becomes_text(tmp_path):
    lines = ["a,b"] + [f"{i},{i}" for i in range(30_000)] + ["30000,n/a"]
    source = only(write(tmp_path / "t.csv", "\n".join(lines) + "\n"))
    table = source.to_table()  # the sample said BIGINT; the one pass restarts with the whole file's types
    assert table.schema.field("a").type == pa.int64()
    assert table.schema.field("b").type == pa.string()
    assert table.num_rows == 30_001
    assert table.column("b")[0].as_py() == "0" and table.column("b")[-1].as_py() == "n/a"


def test_csv_streams_in_bounded_batches_in_file_order_and_is_reiterable(tmp_path):
    n = 2 * BATCH_ROWS + 17
    path = write(tmp_path / "t.csv", "i\n" + "\n".join(map(str, range(n))) + "\n")
    source = only(path)
    batches = list(source.batches())
    assert len(batches) >= 3 and all(b.num_rows <= BATCH_ROWS for b in batches)
    assert all(b.schema == source.schema for b in batches)
    values = pa.Table.from_batches(batches).column("i").to_pylist()
    assert values == list(range(n))
    assert source.to_table().equals(pa.Table.from_batches(batches))


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("t.tsv", "a\tb c\n1\tx, y\n", {"a": 1, "b c": "x, y"}),
    ("t.txt", "a\tb\n1\tx\n", {"a": 1, "b": "x"}),
    ("t.txt", "a|b\n1|x\n", {"a": 1, "b": "x"}),
    ("t.csv", "a;b\n1;2,5\n", {"a": 1, "b": "2,5"}),
    ("t.csv", 'a,"b;c"\n1,2\n', {"a": 1, "b;c": 2}),
])
def test_delimiter(tmp_path, name, text, expected):
    assert rows_of(only(write(tmp_path / name, text))) == [expected]


def test_csv_timezones_arrive_as_utc(tmp_path):
    source = only(write(tmp_path / "t.csv", "at\n2024-01-01 12:00:00+02\n"))
    assert source.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert rows_of(source)[0]["at"] == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)


# --- CSV: bad input ---------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with raises(InvalidFile, str(path), "does not exist") as info:
        open_sources(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize("name", ["t.csv", "t.xlsx", "t.parquet"])
def test_empty_file(tmp_path, name):
    with raises(InvalidFile, name, "empty (0 bytes)"):
        open_sources(write(tmp_path / name, b""))


def test_csv_with_only_a_bom_or_blank_first_line(tmp_path):
    with raises(InvalidFile, "has no header row"):
        open_sources(write(tmp_path / "a.csv", b"\xef\xbb\xbf"))
    with raises(InvalidFile, "line 1 is empty"):
        open_sources(write(tmp_path / "b.csv", "\na,b\n1,2\n"))


def test_header_only_csv(tmp_path):
    with raises(InvalidFile, "h.csv", "has a header but no data rows"):
        only(write(tmp_path / "h.csv", "a,b\n")).to_table()


@pytest.mark.parametrize(("row", "found"), [("4,5", 2), ("4,5,6,7", 4)])
@pytest.mark.parametrize("late", [False, True], ids=["early", "late"])
def test_ragged_row_names_its_line(tmp_path, row, found, late):
    good = [f"{i},{i},{i}" for i in range(30_000 if late else 2)]
    path = write(tmp_path / "r.csv", "\n".join(["a,b,c", *good, row, "7,8,9"]) + "\n")
    line = len(good) + 2
    with raises(InvalidFile, "r.csv", f"line {line}:", f"row has {found} fields but the header has 3") as info:
        only(path).to_table()
    assert info.value.line == line


def test_ragged_row_line_counts_physical_lines_after_quoted_newlines(tmp_path):
    records = ['a,b', *[f'{i},"two\nlines"' for i in range(30_000)], "1,2,3"]
    path = write(tmp_path / "r.csv", "\n".join(records) + "\n")
    with raises(InvalidFile, "line 60002: row has 3 fields"):
        only(path).to_table()


@pytest.mark.parametrize(("header", "fragments"), [
    ("a,b,a", ["duplicate column name", "column 1 'a' and column 3 'a'"]),
    ("id,ID ,x", ["duplicate column name", "column 1 'id' and column 2 'ID'"]),
    ("a,,c", ["column 2 has an empty name"]),
    ("a,  ,c", ["column 2 has an empty name"]),
    ("a,__dsa_row,c", ["column 2 '__dsa_row'", "reserved prefix '__dsa_'"]),
])
def test_bad_csv_header(tmp_path, header, fragments):
    path = write(tmp_path / "h.csv", f"{header}\n1,2,3\n")
    with raises(InvalidFile, "h.csv", *fragments):
        open_sources(path)


@pytest.mark.parametrize("rows_before", [0, 40_000], ids=["early", "late"])
def test_invalid_utf8_names_byte_offset_and_line(tmp_path, rows_before):
    head = b"name,n\n" + b"".join(b"r%05d,1\n" % i for i in range(rows_before))
    path = write(tmp_path / "u.csv", head + b"caf\xe9,2\nok,3\n")
    offset, line = len(head) + 3, rows_before + 2
    with raises(InvalidFile, "u.csv", f"line {line}: invalid UTF-8 at byte offset {offset}") as info:
        only(path).to_table()
    assert (info.value.byte_offset, info.value.line) == (offset, line)
    with raises(InvalidFile, "h.csv", "line 1: invalid UTF-8 at byte offset 1"):
        open_sources(write(tmp_path / "h.csv", b"n\xffme,n\n1,2\n"))


def test_find_invalid_utf8_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(sniff, "_CHUNK", 4)
    data = "aé\nbé\n€".encode() + b"\xe2\x82"  # a sequence cut off at the end
    path = write(tmp_path / "x.csv", data)
    assert sniff.find_invalid_utf8(path) == (len(data) - 2, 3)
    path = write(tmp_path / "y.csv", "aé\nbé\n€ok".encode())
    assert sniff.find_invalid_utf8(path) is None


@pytest.mark.parametrize(("text", "problem"), [
    ('a,b\n1,"never closed\n2,3\n', "line 2: a quoted field is never closed"),
    ('a,b\n1,"x"y\n', "line 2: ',' expected after '\"'"),
    ("a,b\n1," + "x" * 2_100_000 + "\n", "line 2: row is longer than the CSV reader's limit"),
])
def test_malformed_csv(tmp_path, text, problem):
    with raises(InvalidFile, "m.csv", problem):
        open_sources(write(tmp_path / "m.csv", text))


def test_csv_changed_after_opening(tmp_path):
    path = write(tmp_path / "c.csv", "a,b\n" + "".join(f"{i},{i}\n" for i in range(30_000)))
    source = only(path)
    write(path, path.read_text() + '1,"two\nlines"\n')
    table = source.to_table()  # a value that does not fit the sniffed type: read again, b as text
    assert table.schema.field("b").type == pa.string() and table.column("b")[-1].as_py() == "two\nlines"
    write(path, "a,b\nx,y\n")
    with raises(InvalidFile, "c.csv", "changed after it was opened"):
        source.to_table()


def test_utf16_is_rejected(tmp_path):
    with raises(InvalidFile, "UTF-16", "save it as UTF-8"):
        open_sources(write(tmp_path / "w.csv", "a,b\n1,2\n".encode("utf-16")))


# --- content vs extension -----------------------------------------------------------


def _parquet_bytes(tmp_path: Path) -> bytes:
    pq.write_table(pa.table({"a": list(range(1000))}), tmp_path / "src.parquet")
    return (tmp_path / "src.parquet").read_bytes()


def test_content_must_match_extension(tmp_path):
    with raises(InvalidFile, "data.csv", "extension is .csv", "looks like a Parquet file"):
        open_sources(write(tmp_path / "data.csv", _parquet_bytes(tmp_path)))
    with raises(InvalidFile, "sheet.xlsx", "extension is .xlsx", "looks like text"):
        open_sources(write(tmp_path / "sheet.xlsx", "a,b\n1,2\n"))
    wb = workbook(tmp_path / "book.xlsx", {"S": [["a"], [1]]})
    with raises(InvalidFile, "book.parquet", "extension is .parquet", "ZIP archive"):
        open_sources(write(tmp_path / "book.parquet", wb.read_bytes()))
    with raises(InvalidFile, "unsupported file type '.json'", ".csv, .tsv"):
        open_sources(write(tmp_path / "x.json", "{}"))
    with raises(InvalidFile, "save legacy .xls workbooks as .xlsx"):
        open_sources(write(tmp_path / "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)))


# --- Parquet --------------------------------------------------------------------------


def test_parquet_streams_row_groups_with_stored_types(tmp_path):
    n = 3 * 100_000
    table = pa.table({
        "i": pa.array(range(n), pa.int64()),
        "amount": pa.array(range(n)).cast(pa.decimal128(21, 2)),
        "t": pa.array([dt.time(12, 30)] * n, pa.time64("us")),
        "blob": pa.array([b"\x00\x01"] * n, pa.binary()),
        "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n, pa.timestamp("ms", tz="UTC")),
    })
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=100_000)
    source = only(tmp_path / "p.parquet")
    assert source.schema == table.schema and source.row_count_hint == n
    batches = list(source.batches())
    assert len(batches) >= 3 and all(b.num_rows <= BATCH_ROWS for b in batches)
    assert pa.Table.from_batches(batches).equals(table)


def test_parquet_dictionary_and_large_types_are_plain(tmp_path):
    table = pa.table({
        "cat": pa.array(["x", "y", "x"]).dictionary_encode(),
        "big": pa.array(["a", "b", None], pa.large_string()),
    })
    pq.write_table(table, tmp_path / "d.pq")
    source = only(tmp_path / "d.pq")
    assert source.schema == pa.schema([("cat", pa.string()), ("big", pa.string())])
    assert rows_of(source) == [{"cat": "x", "big": "a"}, {"cat": "y", "big": "b"}, {"cat": "x", "big": None}]


def test_parquet_duplicate_and_reserved_names(tmp_path):
    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"]), tmp_path / "d.parquet")
    with raises(InvalidFile, "d.parquet", "duplicate column name"):
        open_sources(tmp_path / "d.parquet")
    pq.write_table(pa.table({"__dsa_x": [1]}), tmp_path / "r.parquet")
    with raises(InvalidFile, "r.parquet", "reserved prefix"):
        open_sources(tmp_path / "r.parquet")


def test_truncated_and_corrupt_parquet(tmp_path):
    data = _parquet_bytes(tmp_path)
    with raises(InvalidFile, "half.parquet", "truncated or corrupt"):
        open_sources(write(tmp_path / "half.parquet", data[: len(data) // 2]))
    with raises(InvalidFile, "random.parquet", "looks like unrecognised binary data"):
        open_sources(write(tmp_path / "random.parquet", bytes(range(256)) * 8))
    with raises(InvalidFile, "garbage.parquet", "not a readable Parquet file"):
        open_sources(write(tmp_path / "garbage.parquet", b"PAR1" + b"\x07" * 100 + b"PAR1"))


def test_parquet_with_no_rows(tmp_path):
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), tmp_path / "e.parquet")
    with raises(InvalidFile, "e.parquet", "has no rows"):
        open_sources(tmp_path / "e.parquet")


# --- Excel ---------------------------------------------------------------------------


def test_two_sheet_workbook_and_sheet_selection(tmp_path):
    path = workbook(tmp_path / "sales.xlsx", {"Q1": [["a"], [1]], "Q2": [["b"], ["x"]], "Q3": [["c"], [True]]})
    sources = open_sources(path)
    assert [(s.name, s.origin) for s in sources] == [
        ("Q1", f"{path}, sheet 'Q1'"), ("Q2", f"{path}, sheet 'Q2'"), ("Q3", f"{path}, sheet 'Q3'")]
    assert [s.name for s in open_sources(path, sheets=["Q3", "Q1"])] == ["Q3", "Q1"]
    assert rows_of(only(path, sheets=["Q2"], table="second")) == [{"b": "x"}]
    assert only(path, sheets=["Q2"], table="second").name == "second"
    with raises(InvalidInput, "3 sheets are selected"):
        open_sources(path, table="t")


def test_excel_types(tmp_path):
    path = workbook(tmp_path / "t.xlsx", {"S": [
        ["n", "x", "day", "at", "flag", "mixed", None, "late"],
        [1, 1.5, dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 8), True, 1, None, None],
        [None] * 8,  # a blank row is not a row
        [2.0, None, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2), False, "x", None, 7],
        [None] * 8,  # trailing blank rows and the empty column G are ignored
        [None] * 8,
    ]})
    source = only(path)
    assert source.schema == pa.schema([
        ("n", pa.int64()), ("x", pa.float64()), ("day", pa.date32()), ("at", pa.timestamp("us")),
        ("flag", pa.bool_()), ("mixed", pa.string()), ("late", pa.int64())])
    assert rows_of(source) == [
        {"n": 1, "x": 1.5, "day": dt.date(2024, 1, 1), "at": dt.datetime(2024, 1, 1, 8), "flag": True,
         "mixed": "1", "late": None},
        {"n": 2, "x": None, "day": dt.date(2024, 1, 2), "at": dt.datetime(2024, 1, 2), "flag": False,
         "mixed": "x", "late": 7},
    ]


def test_excel_types_settle_across_chunks(tmp_path, monkeypatch):
    from dsa_pipelines.storage.readers import excel
    monkeypatch.setattr(excel, "BATCH_ROWS", 2)
    rows = [["a", "b", "c"], [1, 1, None], [2, 2, None], [3, 2.5, None], [4, "x", dt.datetime(2024, 5, 6)]]
    source = only(workbook(tmp_path / "t.xlsx", {"S": rows}))
    assert source.schema.types == [pa.int64(), pa.string(), pa.date32()]
    assert [r["b"] for r in rows_of(source)] == ["1", "2", "2.5", "x"]


def test_unknown_sheet_lists_available(tmp_path):
    path = workbook(tmp_path / "b.xlsx", {"Q1": [["a"], [1]], "Q2": [["a"], [1]]})
    with raises(InvalidFile, "b.xlsx", "no sheet named 'Q9'", "the sheets are: 'Q1', 'Q2'"):
        open_sources(path, sheets=["Q1", "Q9"])


@pytest.mark.parametrize(("rows", "problem"), [
    ([], "sheet is empty"),
    ([["a", "b"]], "sheet has a header but no data rows"),
    ([[None, None], [1, 2]], "row 1 must hold the column names"),
])
def test_empty_or_header_only_sheet(tmp_path, rows, problem):
    path = workbook(tmp_path / "b.xlsx", {"Data": rows})
    with raises(InvalidFile, "b.xlsx, sheet 'Data'", problem):
        open_sources(path)


@pytest.mark.parametrize(("header", "fragments"), [
    (["a", "b", "A"], ["duplicate column name", "column A 'a' and column C 'A'"]),
    (["a", None, "c"], ["column B has an empty name"]),
    (["a", "__dsa_x", "c"], ["column B '__dsa_x'", "reserved prefix"]),
])
def test_bad_excel_header(tmp_path, header, fragments):
    path = workbook(tmp_path / "b.xlsx", {"S": [header, [1, 2, 3]]})
    with raises(InvalidFile, "b.xlsx, sheet 'S'", *fragments):
        open_sources(path)


def test_corrupt_and_protected_workbooks(tmp_path):
    with raises(InvalidFile, "garbage.xlsx", "not a readable .xlsx workbook"):
        open_sources(write(tmp_path / "garbage.xlsx", b"PK\x03\x04" + b"\x00garbage" * 50))
    good = workbook(tmp_path / "good.xlsx", {"S": [["a"], *[[i] for i in range(2000)]]}).read_bytes()
    with raises(InvalidFile, "cut.xlsx", "not a readable .xlsx workbook"):
        open_sources(write(tmp_path / "cut.xlsx", good[: len(good) // 2]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with raises(InvalidFile, "other.xlsx", "not a readable .xlsx workbook"):
        open_sources(write(tmp_path / "other.xlsx", buffer.getvalue()))
    ole2 = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(4096)
    with raises(InvalidFile, "secret.xlsx", "encrypted (password-protected) workbook or a legacy .xls"):
        open_sources(write(tmp_path / "secret.xlsx", ole2))
    with raises(InvalidFile, "secret.csv", "OLE2 compound file"):
        open_sources(write(tmp_path / "secret.csv", ole2))


# --- DataFrames and Arrow tables -------------------------------------------------------


def test_dataframe_source():
    df = pd.DataFrame({"name": ["a", "é", None], "x": [1.5, float("nan"), 3.0], "n": [1, 2, 3]})
    source = source_from_frame("people", df)
    assert (source.name, source.origin, source.row_count_hint) == ("people", "DataFrame", 3)
    assert source.schema == pa.schema([("name", pa.string()), ("x", pa.float64()), ("n", pa.int64())])
    assert rows_of(source)[1] == {"name": "é", "x": None, "n": 2}
    assert all(b.schema.equals(source.schema, check_metadata=True) for b in source.batches())  # no pandas metadata
    # an unnamed index (here left over from filtering) is dropped; a named one is a column, first
    assert source_from_frame("t", df[df.n > 1]).schema.names == ["name", "x", "n"]
    keyed = source_from_frame("t", df.set_index("n"))
    assert keyed.schema.names == ["n", "name", "x"] and rows_of(keyed)[2]["n"] == 3
    categorical = source_from_frame("t", pd.DataFrame({"c": pd.Categorical(["u", "v"])}))
    assert categorical.schema.field("c").type == pa.string()


def test_arrow_table_source_and_bad_frames():
    table = pa.table({"a": pa.array(["x"], pa.large_string()), "b": pa.nulls(1)})
    assert source_from_frame("t", table, origin="api").schema == pa.schema([("a", pa.string()), ("b", pa.string())])
    with raises(InvalidInput, "DataFrame", "duplicate column name"):
        source_from_frame("t", pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with raises(InvalidInput, "duplicate column name", "'n'"):
        source_from_frame("t", pd.DataFrame({"n": [1], "v": [2]}, index=pd.Index([0], name="n")))
    with raises(InvalidInput, "cannot convert to Arrow", "mixed"):
        source_from_frame("t", pd.DataFrame({"mixed": ["a", 1]}))
    with raises(InvalidInput, "api", "reserved prefix"):
        source_from_frame("t", pa.table({"__dsa_row_hash": [1]}), origin="api")


# --- the same table in every format -----------------------------------------------------


def test_same_table_as_csv_excel_parquet_and_frame_is_equal(tmp_path):
    expected = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "price": pa.array([9.99, None, 0.5], pa.float64()),
        "name": pa.array(["Zoë", "b, c", None], pa.string()),
        "ok": pa.array([True, False, True], pa.bool_()),
        "day": pa.array([dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(1999, 12, 31)], pa.date32()),
    })
    write(tmp_path / "csv_t.csv", 'id,price,name,ok,day\n1,9.99,Zoë,true,2024-01-31\n'
                                  '2,,"b, c",false,2024-02-29\n3,0.5,,true,1999-12-31\n')
    rows = [list(r.values()) for r in expected.to_pylist()]
    workbook(tmp_path / "xl.xlsx", {"xlsx_t": [expected.column_names, *rows]})
    pq.write_table(expected, tmp_path / "pq_t.parquet")
    sources = open_sources([tmp_path / "csv_t.csv", tmp_path / "xl.xlsx", tmp_path / "pq_t.parquet"])
    sources.append(source_from_frame("df_t", expected.to_pandas()))
    assert [s.name for s in sources] == ["csv_t", "xlsx_t", "pq_t", "df_t"]
    for source in sources:
        assert source.schema == expected.schema, source.origin
        assert source.to_table().equals(expected), source.origin


# --- naming tables -------------------------------------------------------------------


def test_table_names(tmp_path):
    a = write(tmp_path / "a.csv", "x\n1\n")
    assert only(a, table="orders").name == "orders"
    (tmp_path / "sub").mkdir()
    other = write(tmp_path / "sub" / "a.csv", "x\n2\n")
    with raises(InvalidInput, "two tables named 'a'", str(a), str(other)):
        open_sources([a, other])
    with raises(InvalidInput, "table= names the table of a single file"):
        open_sources([a, other], table="t")
    with raises(InvalidInput, "no workbook"):
        open_sources(a, sheets=["S"])
    with raises(InvalidInput, "no source files"):
        open_sources([])
