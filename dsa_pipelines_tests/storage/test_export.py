"""Exports that round-trip and do not lie (issue 12, defects 7 and 13), on every backend.

The round-trip property: for generated tables (every logical type the format can hold,
NULLs, NaN, infinities, extreme values), export → re-ingest of the same table gives
``no_changes``. Seeded, so a failure names its seed.
"""

from __future__ import annotations

import datetime as dt
import decimal
import string
import zipfile

import numpy as np
import pyarrow as pa
import pytest

from dsa_pipelines.storage import InvalidInput, Store
from dsa_pipelines.storage.export import sheet_names

SEEDS = range(8)
ROWS = 40
_TEXT = string.ascii_letters + string.digits + " ,;\"'\n\r\t|éßø中文🙂"
_I64 = (-(2**63), 2**63 - 1)


def _nulls(rng: np.random.Generator, values: list) -> list:
    return [None if rng.random() < 0.15 else v for v in values]


def _text(rng: np.random.Generator, allow_empty: bool) -> str:
    n = int(rng.integers(0 if allow_empty else 1, 12))
    s = "".join(rng.choice(list(_TEXT if allow_empty else _TEXT.replace("\r", "")), n))
    while s[:1] in ("=", "+", "-", "@", "\t", "\r"):  # formula-like text is neutralised on export, by design
        s = s[1:]
    return s if s or allow_empty else "x"


def _column(rng: np.random.Generator, kind: str, fmt: str) -> pa.Array:
    n = ROWS
    if kind == "int":
        values = rng.integers(-1000, 1000, n).tolist()
        values[:2] = list(_I64)
        return pa.array(_nulls(rng, values), pa.int64())
    if kind == "float":
        values = (rng.normal(0, 1e6, n) * rng.choice([1e-300, 1e-5, 1, 1e300], n)).tolist()
        values[:6] = [517.0, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, -0.0, 2.0**60 + 2**8]
        if fmt != "xlsx":  # a workbook has no NaN or infinity (exporting them is an error, tested below)
            values[6:9] = [float("nan"), float("inf"), float("-inf")]
        return pa.array(_nulls(rng, values), pa.float64())
    if kind == "string":
        return pa.array(_nulls(rng, [_text(rng, allow_empty=fmt != "xlsx") for _ in range(n)]), pa.string())
    if kind == "bool":
        return pa.array(_nulls(rng, (rng.random(n) > 0.5).tolist()), pa.bool_())
    if kind == "date":
        days = rng.integers(-60000 if fmt != "xlsx" else 100, 2900000 if fmt != "xlsx" else 60000, n)
        return pa.array(_nulls(rng, days.tolist()), pa.int32()).cast(pa.date32())
    if kind in ("timestamp", "timestamptz"):
        unit = 1000 if fmt == "xlsx" else 1  # a workbook keeps milliseconds
        micros = (rng.integers(-10**15 if fmt != "xlsx" else 10**12, 4 * 10**15, n) // unit * unit).tolist()
        return pa.array(_nulls(rng, micros), pa.int64()).cast(pa.timestamp("us", tz="UTC" if kind == "timestamptz"
                                                                           else None))
    if kind == "time":
        unit = 1000 if fmt == "xlsx" else 1
        micros = (rng.integers(0, 86_399_000_000, n) // unit * unit).tolist()
        return pa.array(_nulls(rng, micros), pa.int64()).cast(pa.time64("us"))
    if kind == "decimal":
        return pa.array(_nulls(rng, [decimal.Decimal(int(v)).scaleb(-2) for v in rng.integers(-10**9, 10**9, n)]),
                        pa.decimal128(12, 2))
    if kind == "binary":
        return pa.array(_nulls(rng, [bytes(rng.integers(0, 256, int(rng.integers(0, 6))).tolist()) for _ in range(n)]),
                        pa.binary())
    raise AssertionError(kind)


KINDS = {
    "csv": ["int", "float", "string", "bool", "date", "timestamp", "timestamptz", "time", "decimal", "binary"],
    "parquet": ["int", "float", "string", "bool", "date", "timestamp", "timestamptz", "time", "decimal", "binary"],
    "xlsx": ["int", "float", "string", "bool", "date", "timestamp", "time"],
}


def _generated(seed: int, fmt: str) -> pa.Table:
    rng = np.random.default_rng(seed)
    kinds = KINDS[fmt]
    chosen = [k for k in kinds if rng.random() < 0.7] or kinds[:1]
    return pa.table({f"{k}_{i}": _column(rng, k, fmt) for i, k in enumerate(chosen)})


@pytest.mark.parametrize("fmt", sorted(KINDS))
def test_export_then_reingest_gives_no_changes(store: Store, tmp_path, fmt):
    store.create_dataset("d")
    for seed in SEEDS:
        table = _generated(seed, fmt)
        store.commit("d", table, table="t", message=f"seed {seed}")
        out = store.export("d", "main", tmp_path / f"seed{seed}.{fmt}", table="t")
        again = store.commit("d", {"t": out} if fmt != "xlsx" else out, message="re-ingest",
                             **({"sheets": ["t"]} if fmt == "xlsx" else {}))
        assert again.status == "no_changes", f"{fmt}, seed {seed}: {again.tables['t']}"


def test_a_csv_replacing_a_table_keeps_its_stored_types_where_the_text_fits(store: Store, tmp_path):
    store.create_dataset("d")
    store.commit("d", pa.table({"zip": ["01234", "99999"], "amount": pa.array([decimal.Decimal("1.50")] * 2,
                                                                            pa.decimal128(8, 2))}), table="t")
    path = tmp_path / "t.csv"
    path.write_text("zip,amount\n01234,1.50\n99999,1.50\n")
    assert store.commit("d", path, table="t").status == "no_changes"
    path.write_text("zip,amount\n01234,1.505\n99999,x\n")  # no longer fits DECIMAL(8,2): detected types stand
    result = store.commit("d", path, table="t")
    assert str(result.tables["t"].schema.field("amount").type) == "string"
    assert store.read_table("d", "main", "t").table.column("zip").to_pylist() == ["01234", "99999"]


def test_integral_floats_come_back_as_floats_from_csv(store: Store, tmp_path):
    store.create_dataset("d")
    store.commit("d", pa.table({"x": [517.0, 2.0, None]}), table="t")
    out = store.export("d", "main", tmp_path / "t.csv")
    assert out.read_text().splitlines() == ['"x"', '"517.0"', '"2.0"', ""]  # quoted: text, read back as float


def test_xlsx_keeps_all_17_significant_digits_and_exact_integers(store: Store, tmp_path):
    store.create_dataset("d")
    store.commit("d", pa.table({"f": [0.1 + 0.2, 1 / 3], "i": [2**63 - 1, -(2**53) - 1]}), table="t")
    out = store.export("d", "main", tmp_path / "t.xlsx")
    sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "0.30000000000000004" in sheet and "9223372036854775807" in sheet and "-9007199254740993" in sheet


def test_xlsx_export_of_nan_or_control_characters_is_an_error_naming_the_column(store: Store, tmp_path):
    store.create_dataset("d")
    store.commit("d", pa.table({"f": [1.0, float("nan")]}), table="t")
    with pytest.raises(InvalidInput, match="column 'f'.*NaN"):
        store.export("d", "main", tmp_path / "t.xlsx")
    store.commit("d", pa.table({"s": ["ok", "bell\x07"]}), table="t")
    with pytest.raises(InvalidInput, match="column 's', row 1"):
        store.export("d", "main", tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()


def test_sheet_names_are_valid_unique_and_documented():
    long = "a" * 40
    names = sheet_names([long, long + "b", "q1: [draft]*?", "'quoted'", "History", "A" * 31, "a" * 31])
    assert list(names.values()) == ["a" * 31, "a" * 29 + "~2", "q1_ _draft___", "quoted", "Sheet",
                                    "A" * 29 + "~3", "a" * 29 + "~4"]  # sheet names ignore case
    assert len({v.casefold() for v in names.values()}) == len(names)


def test_xlsx_export_of_tables_sharing_31_characters_writes_both_sheets(store: Store, tmp_path):
    import openpyxl

    store.create_dataset("d")
    first, second = "quarterly_results_for_the_north_region", "quarterly_results_for_the_north_region_v2"
    store.commit("d", {first: pa.table({"x": [1]}), second: pa.table({"x": [2, 3]}), "a:b*c": pa.table({"x": [4]})})
    wb = openpyxl.load_workbook(store.export("d", "main", tmp_path / "all.xlsx"), read_only=True)
    rows = {ws.title: len(list(ws.values)) - 1 for ws in wb.worksheets}
    assert rows == {"a_b_c": 1, first[:31]: 1, first[:29] + "~2": 2}


def test_headers_are_neutralised_like_cells_in_csv_and_xlsx(store: Store, tmp_path):
    import openpyxl

    store.create_dataset("d")
    store.commit("d", pa.table({'=HYPERLINK("http://x","y")': ["=1+1"], "ok": ["fine"]}), table="t")
    csv_text = store.export("d", "main", tmp_path / "t.csv").read_text()
    assert csv_text.splitlines()[0] == '"\'=HYPERLINK(""http://x"",""y"")","ok"'
    ws = openpyxl.load_workbook(store.export("d", "main", tmp_path / "t.xlsx")).worksheets[0]
    assert [c.value for c in ws[1]] == ['\'=HYPERLINK("http://x","y")', "ok"]
    assert ws["A1"].data_type == "s" and ws["A2"].value == "'=1+1"


def test_time_zones_are_exported_to_xlsx_as_utc_wall_clock(store: Store, tmp_path):
    import openpyxl

    store.create_dataset("d")
    at = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    store.commit("d", pa.table({"at": pa.array([at], pa.timestamp("us", tz="Europe/Paris"))}), table="t")
    ws = openpyxl.load_workbook(store.export("d", "main", tmp_path / "t.xlsx")).worksheets[0]
    assert ws["A2"].value == dt.datetime(2024, 5, 1, 10, 30)
