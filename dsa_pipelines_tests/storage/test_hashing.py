"""The canonical row encoding: equal rows hash alike, different rows never do.

``reference_hash`` below is a row-at-a-time transcription of ``docs/hashing.md``; the
vectorised implementation must agree with it byte for byte, and the golden vectors pin
both so that any change of encoding fails here.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
import struct
import unicodedata

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsa_pipelines.storage import hashing
from dsa_pipelines.storage.errors import InvalidInput

D = decimal.Decimal
K1, K2 = hashing.KEY_COLUMNS
UTC = dt.UTC


def hashes(table: pa.Table | pa.RecordBatch) -> list[str]:
    return [h.hex() for h in hashing.row_hashes(table).to_pylist()]


def one(**columns: pa.Array) -> str:
    """The hash of a one-row table built from one-element arrays."""
    (h,) = hashes(pa.table(columns))
    return h


# --------------------------------------------------------------------------- reference


def _netstring(data: bytes) -> bytes:
    return str(len(data)).encode() + b":" + data


def _float_bits(x: float) -> int:
    if x != x:
        return 0x7FF8000000000000
    if x == 0.0:
        return 0
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def _value_text(arrow_type: pa.DataType, scalar: pa.Scalar) -> str:
    ltype = hashing.logical_type(arrow_type)
    if pa.types.is_dictionary(arrow_type):
        return _value_text(arrow_type.value_type, scalar.value)
    if ltype in ("timestamp", "timestamptz", "time"):
        per_ns = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[arrow_type.unit]
        return str(scalar.cast(pa.int64() if arrow_type.bit_width == 64 else pa.int32()).as_py() * per_ns)
    v = scalar.as_py()
    if ltype == "int":
        return str(v)
    if ltype == "float":
        return format(_float_bits(float(v)), "X")
    if ltype == "string":
        return unicodedata.normalize("NFC", v)
    if ltype == "bool":
        return "true" if v else "false"
    if ltype == "date":
        return str((v - dt.date(1970, 1, 1)).days)
    if ltype == "decimal":
        with decimal.localcontext(decimal.Context(prec=200)):
            return format(v.normalize(), "f")
    if ltype == "binary":
        return v.hex().upper()
    raise AssertionError(ltype)


def reference_encoding(table: pa.Table) -> list[bytes]:
    """docs/hashing.md, one row at a time: the bytes whose SHA-256 is the row hash."""
    schema = sorted((f.name, hashing.logical_type(f.type)) for f in table.schema)
    header = b"dsa-row/1\n" + b"".join(_netstring(n.encode()) + _netstring(t.encode()) for n, t in schema)
    prefix = hashlib.sha256(header).hexdigest().encode()
    rows = []
    for i in range(table.num_rows):
        encoded = prefix
        for name, _ in schema:
            column = table.column(name)
            scalar = column[i]
            encoded += _netstring(_value_text(column.type, scalar).encode()) if scalar.is_valid else b"N"
        rows.append(encoded)
    return rows


def reference_hash(table: pa.Table) -> list[str]:
    return [hashlib.sha256(row).hexdigest() for row in reference_encoding(table)]


def every_type_table() -> pa.Table:
    """Each supported type with edge values and a NULL in every column."""
    f64 = [0.1, 1 / 3, 1e300, 5e-324, 123456789.125, -0.0, float("nan"), float("inf"), -float("inf"), -2.5]
    n = len(f64) + 1
    return pa.table({
        "i8": pa.array([-128, 127, 0, -1, 1, 5, 6, 7, 8, 9, None], pa.int8()),
        "i64": pa.array([-(2**63), 2**63 - 1, 0, -1, 1, 10, 100, 1000, 7, 8, None], pa.int64()),
        "u64": pa.array([2**64 - 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, None], pa.uint64()),
        "f64": pa.array([*f64, None], pa.float64()),
        "f32": pa.array([0.1, 1 / 3, 3.4e38, 1e-45, 0.5, -0.0, float("nan"), float("inf"), -float("inf"), -2.5, None],
                        pa.float32()),
        "f16": pa.array(np.array([0.1, 1 / 3, 65504, 6e-8, 0.5, -0.0, np.nan, np.inf, -np.inf, -2.5, 0],
                                 dtype=np.float16), mask=np.arange(n) == n - 1),
        "s": pa.array(["", "NULL", "N", "1:a", "e\u0301", "日本", "a'b", "\x00", "x" * 300, "🎉", None]),
        "ls": pa.array(["a", "", "é", "b", "c", "d", "e", "f", "g", "h", None], pa.large_string()),
        "b": pa.array([True, False] * 5 + [None]),
        "d32": pa.array([dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
                        + [dt.date(2024, 2, 29)] * 6 + [None], pa.date32()),
        "d64": pa.array([dt.date(2000, 1, 1)] * 10 + [None], pa.date64()),
        "ts_s": pa.array([-(10**11), 0, 10**11, 1, 2, 3, 4, 5, 6, 7, None], pa.timestamp("s")),
        "ts_ns": pa.array([-1, 0, 1, 2**62, 5, 6, 7, 8, 9, 10, None], pa.timestamp("ns")),
        "tz_ms": pa.array([0, 1, -1, 1700000000000, 5, 6, 7, 8, 9, 10, None], pa.timestamp("ms", tz="Asia/Kolkata")),
        "t32": pa.array([0, 1, 86399, 3600, 5, 6, 7, 8, 9, 10, None], pa.time32("s")),
        "t64": pa.array([0, 1, 86399999999999, 5, 6, 7, 8, 9, 10, 11, None], pa.time64("ns")),
        "dec": pa.array([D("1.50"), D("-0.05"), D("0"), D("100"), D("-123.45"), D("0.001"),
                         D("99999.999"), D("1"), D("10"), D("-10.10"), None], pa.decimal128(8, 3)),
        "dec33": pa.array([D("0.5"), D("-0.5"), D("0"), D("-0.001"), D("0.999")] * 2 + [None], pa.decimal128(3, 3)),
        "dec0": pa.array([D("100"), D("-5"), D("0")] * 3 + [D("7"), None], pa.decimal128(5, 0)),
        "bin": pa.array([b"", b"\x00", b"\xff\x01", b"ab", b"N", b"c", b"d", b"e", b"f", b"g", None]),
        "fsb": pa.array([b"ab", b"\x00\x00"] * 5 + [None], pa.binary(2)),
        "dict": pa.array(["x", "y", "x", "", "z", "x", "y", "x", "e\u0301", "é", None]).dictionary_encode(),
        "nul": pa.nulls(n),
    })


# --------------------------------------------------------------------------- the encoding


def test_matches_the_documented_encoding() -> None:
    table = every_type_table()
    assert hashes(table) == reference_hash(hashing.canonicalize(table))


def test_matches_the_documented_encoding_on_random_rows() -> None:
    rng = np.random.default_rng(7)
    n = 500
    table = pa.table({
        "i": pa.array(rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64), mask=rng.random(n) < 0.1),
        "f": pa.array(rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n), mask=rng.random(n) < 0.1),
        "bits": pa.array(rng.integers(0, 2**63, n, dtype=np.int64).view(np.float64)),
        "s": pa.array(["".join(map(chr, rng.integers(32, 0x2FF, rng.integers(0, 9)))) for _ in range(n)]),
        "t": pa.array(rng.integers(-(2**62), 2**62, n), pa.timestamp("us")),
        "tz": pa.array(rng.integers(-(2**40), 2**40, n), pa.timestamp("ms", tz="America/New_York")),
        "dec": pa.array([D(int(x)).scaleb(-6) for x in rng.integers(-(10**15), 10**15, n)], pa.decimal128(18, 6)),
        "tm": pa.array(rng.integers(0, 86_400_000_000, n), pa.time64("us")),
        "bin": pa.array([rng.bytes(int(k)) for k in rng.integers(0, 5, n)]),
    })
    assert hashes(table) == reference_hash(hashing.canonicalize(table))


GOLDEN = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "name": pa.array(["Zoë", "", None]),
    "price": pa.array([1.5, -0.0, None], pa.float64()),
    "ok": pa.array([True, None, False]),
    "day": pa.array([dt.date(2024, 2, 29), None, dt.date(1969, 12, 31)]),
    "at": pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=UTC), None, dt.datetime(1970, 1, 1, tzinfo=UTC)],
                   pa.timestamp("us", tz="UTC")),
    "amount": pa.array([D("1.50"), D("-0.05"), None], pa.decimal128(6, 2)),
})
GOLDEN_SCHEMA_ID = "4b3ed39f4f4e844febd959f2f23a50cc5e47dbb8c377f4a80e5beb6b4cd794f6"
GOLDEN_ENCODING = [
    GOLDEN_SCHEMA_ID.encode() + "3:1.519:17041104000000000005:197821:14:Zoë4:true16:3FF8000000000000".encode(),
    GOLDEN_SCHEMA_ID.encode() + b"5:-0.05NN1:20:N1:0",
    GOLDEN_SCHEMA_ID.encode() + b"N1:02:-11:3N5:falseN",
]
GOLDEN_HASHES = [
    "3a075ef5054320ac2c7343b10121a0a8f068513181b400166dc84a65d82bd2a9",
    "5f821c9be038e49dd987634a2f1d305290439ac84733d8e0c74e635742c88df1",
    "00842ea60acb0a68604fc3833b57746c1fb6f635f9b53f9e4a2c0c28eb356fae",
]
GOLDEN_KEYS_DIGEST = "990612e2c52575b8c344723257e1eb611966ee6b8b4a5ddac6887c39b70a1336"


def test_golden_vectors() -> None:
    """These bytes are the format: if this fails, the encoding changed (docs/hashing.md)."""
    assert reference_encoding(hashing.canonicalize(GOLDEN)) == GOLDEN_ENCODING
    assert [hashlib.sha256(row).hexdigest() for row in GOLDEN_ENCODING] == GOLDEN_HASHES
    assert hashes(GOLDEN) == GOLDEN_HASHES
    assert hashing.keys_digest(hashing.row_keys(GOLDEN)).hex() == GOLDEN_KEYS_DIGEST


def test_schema_id_of_golden_table() -> None:
    header = (b"dsa-row/1\n6:amount7:decimal2:at11:timestamptz3:day4:date2:id3:int4:name6:string"
              b"2:ok4:bool5:price5:float")
    assert hashlib.sha256(header).hexdigest() == GOLDEN_SCHEMA_ID
    assert hashing.schema_id(hashing.logical_schema(GOLDEN.schema)) == GOLDEN_SCHEMA_ID


# --------------------------------------------------------------------------- equal rows hash alike


def test_column_order_does_not_matter() -> None:
    table = every_type_table()
    rng = np.random.default_rng(1)
    shuffled = table.select(list(rng.permutation(table.column_names)))
    assert shuffled.column_names != table.column_names
    assert hashes(shuffled) == hashes(table)


@pytest.mark.parametrize("arrow_type", [pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32(),
                                        pa.uint64()])
def test_integer_widths_hash_alike(arrow_type: pa.DataType) -> None:
    values = [0, 1, 100, None]
    expected = hashes(pa.table({"x": pa.array(values, pa.int64())}))
    assert hashes(pa.table({"x": pa.array(values, arrow_type)})) == expected


def test_negative_integers_of_every_width_hash_alike() -> None:
    values = [-1, -128, 127, None]
    expected = hashes(pa.table({"x": pa.array(values, pa.int64())}))
    for arrow_type in (pa.int8(), pa.int16(), pa.int32()):
        assert hashes(pa.table({"x": pa.array(values, arrow_type)})) == expected


def test_float32_is_widened_exactly() -> None:
    f32 = pa.array([0.1, 1 / 3, 3.4e38, 1e-45, None], pa.float32())
    widened = pa.array([float(np.float32(x)) if x is not None else None for x in f32.to_pylist()], pa.float64())
    assert hashes(pa.table({"x": f32})) == hashes(pa.table({"x": widened}))
    assert one(x=pa.array([0.1], pa.float32())) != one(x=pa.array([0.1], pa.float64()))


def test_float16_is_widened_exactly() -> None:
    assert one(x=pa.array([np.float16(0.1)], pa.float16())) == one(x=pa.array([float(np.float16(0.1))]))


@pytest.mark.parametrize("arrow_type", [pa.float16(), pa.float32(), pa.float64()])
def test_negative_zero_is_zero(arrow_type: pa.DataType) -> None:
    assert one(x=pa.array([-0.0], arrow_type)) == one(x=pa.array([0.0], arrow_type))
    assert one(x=pa.array([-0.0], arrow_type)) == one(x=pa.array([0.0], pa.float64()))


def test_negative_zero_is_stored_as_zero() -> None:
    canonical = hashing.canonicalize(pa.table({"x": pa.array([-0.0, 1.0])}))
    assert np.signbit(canonical.column("x").to_numpy()).tolist() == [False, False]


def test_every_nan_is_one_nan() -> None:
    patterns = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0x7FFFFFFFFFFFFFFF, 0xFFF0000000DEAD00]
    nans = pa.array(np.array(patterns, dtype=np.uint64).view(np.float64))
    f32 = pa.array(np.array([0x7FC00000, 0xFFC00000, 0x7F800001], dtype=np.uint32).view(np.float32))
    expected = one(x=pa.array([float("nan")]))
    assert set(hashes(pa.table({"x": nans}))) == {expected}
    assert set(hashes(pa.table({"x": f32}))) == {expected}
    stored = hashing.canonicalize(pa.table({"x": nans})).column("x").to_numpy().view(np.uint64)
    assert set(stored.tolist()) == {0x7FF8000000000000}


def test_infinities_and_nan_are_distinct() -> None:
    values = pa.array([float("inf"), -float("inf"), float("nan"), 1.7976931348623157e308, None])
    assert len(set(hashes(pa.table({"x": values})))) == 5


def test_nfd_and_nfc_strings_hash_alike() -> None:
    nfc, nfd = "Zoë Ångström", unicodedata.normalize("NFD", "Zoë Ångström")
    assert nfc != nfd
    assert one(s=pa.array([nfd])) == one(s=pa.array([nfc]))
    assert hashing.canonicalize(pa.table({"s": [nfd]})).column("s").to_pylist() == [nfc]


@pytest.mark.parametrize("arrow_type", [pa.large_string(), pa.string_view()])
def test_string_layouts_hash_alike(arrow_type: pa.DataType) -> None:
    values = ["a", "", "é", None]
    assert hashes(pa.table({"s": pa.array(values, arrow_type)})) == hashes(pa.table({"s": pa.array(values)}))


@pytest.mark.parametrize("arrow_type", [pa.large_binary(), pa.binary_view()])
def test_binary_layouts_hash_alike(arrow_type: pa.DataType) -> None:
    values = [b"ab", b"", b"\xff", None]
    assert hashes(pa.table({"b": pa.array(values, arrow_type)})) == hashes(pa.table({"b": pa.array(values)}))
    assert one(b=pa.array([b"ab"], pa.binary(2))) == one(b=pa.array([b"ab"]))


def test_dictionary_hashes_as_plain() -> None:
    plain = pa.array(["Paris", "Zürich", None, "Paris"])
    ints = pa.array([3, 1, None, 3], pa.int32())
    encoded = pa.table({"city": plain.dictionary_encode(), "n": ints.dictionary_encode()})
    assert hashes(encoded) == hashes(pa.table({"city": plain, "n": ints}))
    assert hashing.canonicalize(encoded).schema == pa.schema({"city": pa.string(), "n": pa.int32()})


def test_timestamptz_is_the_instant() -> None:
    instant = dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    paris = pa.array([instant], pa.timestamp("us", tz="Europe/Paris"))
    tokyo = pa.array([instant], pa.timestamp("ns", tz="Asia/Tokyo"))
    assert one(t=paris) == one(t=tokyo)
    assert one(t=paris) != one(t=pa.array([instant + dt.timedelta(hours=1)], pa.timestamp("us", tz="Europe/Paris")))


def test_naive_timestamp_differs_from_tz_aware() -> None:
    naive = pa.array([dt.datetime(2024, 1, 1, 12)], pa.timestamp("us"))
    aware = pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    assert one(t=naive) != one(t=aware)


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_timestamp_units_hash_alike(unit: str) -> None:
    moments = [dt.datetime(2024, 1, 1, 12, 0, 1), dt.datetime(1969, 7, 20, 20, 17), dt.datetime(1970, 1, 1), None]
    ns = pa.array(moments, pa.timestamp("ns"))
    assert hashes(pa.table({"t": pa.array(moments, pa.timestamp(unit))})) == hashes(pa.table({"t": ns}))


def test_timestamps_far_outside_the_nanosecond_range() -> None:
    far = pa.array([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)], pa.timestamp("s"))
    assert hashes(pa.table({"t": far})) == reference_hash(pa.table({"t": far}))
    assert one(t=far.slice(0, 1)) == one(t=pa.array([dt.datetime(1, 1, 1)], pa.timestamp("us")))


def test_one_nanosecond_is_a_different_row() -> None:
    base = 1_700_000_000_123_456_789
    assert one(t=pa.array([base], pa.timestamp("ns"))) != one(t=pa.array([base + 1], pa.timestamp("ns")))


def test_time_units_hash_alike() -> None:
    assert one(t=pa.array([3723], pa.time32("s"))) == one(t=pa.array([3723 * 10**9], pa.time64("ns")))
    assert one(t=pa.array([3723001], pa.time32("ms"))) == one(t=pa.array([3723001000], pa.time64("us")))
    assert one(t=pa.array([1], pa.time64("ns"))) != one(t=pa.array([0], pa.time64("ns")))


def test_date64_hashes_as_date32() -> None:
    days = [dt.date(2024, 2, 29), dt.date(1900, 1, 1), None]
    assert hashes(pa.table({"d": pa.array(days, pa.date64())})) == hashes(pa.table({"d": pa.array(days, pa.date32())}))


def test_date64_with_a_time_of_day_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="'d'"):
        hashing.row_hashes(pa.table({"d": pa.array([1], pa.date64())}))


def test_decimal_trailing_zeros_do_not_matter() -> None:
    assert one(x=pa.array([D("1.50")], pa.decimal128(5, 2))) == one(x=pa.array([D("1.5")], pa.decimal128(5, 1)))
    assert one(x=pa.array([D("1.50")], pa.decimal128(5, 2))) == one(x=pa.array([D("1.5")], pa.decimal256(40, 10)))
    assert one(x=pa.array([D("100")], pa.decimal128(5, 0))) == one(x=pa.array([D("100.000")], pa.decimal128(9, 3)))
    assert one(x=pa.array([D("1.50")], pa.decimal128(5, 2))) != one(x=pa.array([D("1.05")], pa.decimal128(5, 2)))
    assert one(x=pa.array([D("100")], pa.decimal128(5, 0))) != one(x=pa.array([D("10")], pa.decimal128(5, 0)))


def test_decimal_widths_and_negative_scale() -> None:
    expected = one(x=pa.array([D("-1200")], pa.decimal128(6, 0)))
    assert one(x=pa.array([D("-1200")], pa.decimal32(6, 0))) == expected
    assert one(x=pa.array([D("-1200")], pa.decimal64(6, 0))) == expected
    assert one(x=pa.array([D("-12E+2")], pa.decimal128(4, -2))) == expected


def test_decimal_beyond_38_digits_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="'x'"):
        hashing.row_hashes(pa.table({"x": pa.array([D("1" * 45)], pa.decimal256(50, 0))}))


def test_bool_and_null_columns() -> None:
    assert len(set(hashes(pa.table({"b": pa.array([True, False, None])})))) == 3
    assert one(n=pa.nulls(1)) != one(n=pa.array([None], pa.string()))


# --------------------------------------------------------------------------- different rows never do


def test_null_empty_string_and_the_string_null_differ() -> None:
    values = pa.array([None, "", "NULL", "N", "null"])
    assert len(set(hashes(pa.table({"s": values})))) == 5


def test_column_name_is_part_of_the_row() -> None:
    assert one(a=pa.array([1])) != one(b=pa.array([1]))


def test_logical_type_is_part_of_the_row() -> None:
    row_hashes = {one(x=pa.array([1])), one(x=pa.array(["1"])), one(x=pa.array([1.0])),
                  one(x=pa.array([True])), one(x=pa.array([D("1")])), one(x=pa.array([1], pa.date32())),
                  one(x=pa.array([1], pa.timestamp("ns"))), one(x=pa.array([1], pa.time64("ns")))}
    assert len(row_hashes) == 8


def test_swapping_values_between_columns_changes_the_hash() -> None:
    assert one(a=pa.array(["x"]), b=pa.array(["y"])) != one(a=pa.array(["y"]), b=pa.array(["x"]))
    assert one(a=pa.array([1]), b=pa.array([2])) != one(a=pa.array([2]), b=pa.array([1]))


@pytest.mark.parametrize(("left", "right"), [
    (("a", "bc"), ("ab", "c")),
    (("", "x"), ("x", "")),
    ((None, "x"), ("x", None)),
    (("", None), (None, "")),
    (("1:a", "N"), ("1", ":aN")),
    (("N", None), (None, "N")),
])
def test_encoding_is_injective(left: tuple, right: tuple) -> None:
    strings = pa.schema({"a": pa.string(), "b": pa.string()})
    first, second = hashes(pa.table({"a": [left[0], right[0]], "b": [left[1], right[1]]}, schema=strings))
    assert first != second


def test_adding_a_null_column_changes_the_hash() -> None:
    assert one(a=pa.array([1])) != one(a=pa.array([1]), b=pa.array([None], pa.int64()))


# --------------------------------------------------------------------------- round trips


def test_parquet_round_trip(tmp_path) -> None:
    table = every_type_table().drop_columns(["f16"])  # Parquet stores float16 but not every reader does
    pq.write_table(table, tmp_path / "t.parquet")
    assert hashes(pq.read_table(tmp_path / "t.parquet")) == hashes(table)


def test_duckdb_csv_round_trip(tmp_path) -> None:
    table = pa.table({
        "id": pa.array([1, -2, 3, None], pa.int64()),
        "x": pa.array([0.1, 1 / 3, None, -1e300]),
        "name": pa.array(["Zoë", "a,b", 'say "hi"', None]),
        "ok": pa.array([True, False, None, True]),
        "day": pa.array([dt.date(2024, 2, 29), None, dt.date(1969, 12, 31), dt.date(2000, 1, 1)]),
        "at": pa.array([dt.datetime(2024, 1, 1, 12, 30, 0, 123456), None, dt.datetime(1970, 1, 1),
                        dt.datetime(1999, 12, 31, 23, 59, 59)], pa.timestamp("us")),
    })
    path = tmp_path / "t.csv"
    con = duckdb.connect()
    con.register("t", table)
    con.execute(f"COPY t TO '{path}' (HEADER)")
    back = con.sql(f"SELECT * FROM read_csv('{path}')").to_arrow_table()
    assert [hashing.logical_type(t) for t in back.schema.types] == [hashing.logical_type(t) for t in table.schema.types]
    assert hashes(back) == hashes(table)


def test_record_batch_and_chunked_table_hash_alike() -> None:
    table = every_type_table()
    chunked = pa.concat_tables([table.slice(0, 4), table.slice(4)])
    assert hashes(table.to_batches()[0]) == hashes(table) == hashes(chunked)


def test_row_order_is_kept_across_parallel_batches() -> None:
    n = 300_000  # several DuckDB row groups, hashed by several threads
    table = pa.table({"i": pa.array(np.arange(n)), "s": pa.array(np.arange(n).astype(str))})
    everything = hashing.row_hashes(table)
    for start in (0, 122_879, 150_000, n - 3):
        assert everything.slice(start, 3) == hashing.row_hashes(table.slice(start, 3))


# --------------------------------------------------------------------------- keys and digests


def test_keys_are_the_first_12_bytes_big_endian() -> None:
    table = every_type_table()
    keys = hashing.row_keys(table)
    assert keys.schema == pa.schema({K1: pa.int64(), K2: pa.int32()})
    for h, k1, k2 in zip(hashing.row_hashes(table).to_pylist(), keys.column(K1).to_pylist(),
                         keys.column(K2).to_pylist(), strict=True):
        assert struct.pack(">qi", k1, k2) == h[:12]


def test_keys_from_hashes_of_a_slice() -> None:
    raw = bytes(range(32)) + b"\xff" * 32 + b"\x80" + b"\x00" * 31
    hashes_ = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), 3, [None, pa.py_buffer(raw)])
    keys = hashing.keys_from_hashes(hashes_.slice(1))
    assert keys.column(K1).to_pylist() == [-1, -(2**63)]
    assert keys.column(K2).to_pylist() == [-1, 0]
    assert hashing.keys_from_hashes(hashes_).column(K1)[0].as_py() == 0x0001020304050607


def test_hashed_is_canonical_table_plus_keys() -> None:
    table = every_type_table().drop_columns(["f16", "f32", "f64"])  # NaN != NaN in Table.equals
    expected = hashing.canonicalize(table)
    keys = hashing.row_keys(table)
    assert hashing.hashed(table) == expected.append_column(K1, keys.column(K1)).append_column(K2, keys.column(K2))


def test_keys_digest_is_over_keys_in_order() -> None:
    keys = hashing.row_keys(pa.table({"i": [1, 2, 3]}))
    raw = b"".join(struct.pack(">qi", a, b) for a, b in zip(keys.column(K1).to_pylist(), keys.column(K2).to_pylist(),
                                                            strict=True))
    assert hashing.keys_digest(keys) == hashlib.sha256(raw).digest()
    assert hashing.keys_digest(keys) != hashing.keys_digest(keys.take([1, 0, 2]))
    assert hashing.keys_digest(keys.slice(0, 0)) == hashlib.sha256(b"").digest()


def test_empty_table() -> None:
    empty = every_type_table().slice(0, 0)
    assert len(hashing.row_hashes(empty)) == 0
    assert hashing.hashed(empty).column_names == [*empty.column_names, K1, K2]


# --------------------------------------------------------------------------- types and names


def test_canonicalize_keeps_physical_types() -> None:
    table = pa.table({"i": pa.array([1], pa.int32()), "f": pa.array([-0.0], pa.float32()),
                      "t": pa.array([1], pa.timestamp("ms", tz="Europe/Paris")), "d": pa.array([D("1.50")])})
    assert hashing.canonicalize(table).schema == table.schema


def test_logical_schema_is_sorted_by_name() -> None:
    schema = pa.schema({"b": pa.int8(), "A": pa.string(), "a": pa.timestamp("us", tz="UTC"), "é": pa.float32()})
    assert hashing.logical_schema(schema) == (("A", "string"), ("a", "timestamptz"), ("b", "int"), ("é", "float"))


@pytest.mark.parametrize("arrow_type", [pa.list_(pa.int64()), pa.struct({"x": pa.int64()}),
                                        pa.map_(pa.string(), pa.int64()), pa.duration("s"),
                                        pa.month_day_nano_interval(), pa.uuid()])
def test_unsupported_types_name_the_column(arrow_type: pa.DataType) -> None:
    with pytest.raises(InvalidInput, match="'nested'") as raised:
        hashing.row_hashes(pa.table({"ok": pa.array([], pa.int64()), "nested": pa.array([], arrow_type)}))
    assert raised.value.column == "nested"
    with pytest.raises(InvalidInput, match=re.escape(str(arrow_type))):
        hashing.logical_type(arrow_type)


def test_duplicate_and_reserved_column_names_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="duplicate"):
        hashing.row_hashes(pa.table([pa.array([1]), pa.array([2])], names=["a", "a"]))
    with pytest.raises(InvalidInput, match="reserved"):
        hashing.canonicalize(pa.table({K1: [1]}))


def test_wide_tables_are_hashed_in_column_blocks_with_the_same_bytes():
    rng = np.random.default_rng(3)
    width = 3 * hashing._BLOCK_COLUMNS + 5
    table = pa.table({f"c{i:04d}": pa.array(rng.integers(-5, 5, 20)) if i % 3 else
                      pa.array([None if v == 0 else f"s{v}" for v in rng.integers(0, 4, 20)]) for i in range(width)})
    assert hashing.row_hashes(table).to_pylist() == [bytes.fromhex(h) for h in reference_hash(table)]
