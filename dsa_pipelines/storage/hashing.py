"""Row identity: the canonical row encoding, row hashes and 96-bit row keys.

A row's hash is SHA-256 over a canonical, injective byte encoding of every column's
(name, logical type, value), columns ordered by name: the schema id (a SHA-256 of the
names and logical types) followed by each value, length-prefixed or ``N`` for NULL. The
encoding is a format we keep forever; ``docs/hashing.md`` specifies it byte by byte
(version :data:`ENCODING_VERSION`).

Everything here is vectorised: values are canonicalised with ``pyarrow.compute``, the
encoding and SHA-256 run as one DuckDB expression per row, and hashes are split into
keys with numpy. No Python code runs per row.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidInput
from .names import RESERVED_PREFIX

if TYPE_CHECKING:  # DuckDB loads on the first hash, not on import (`dsa log` never hashes)
    import duckdb

__all__ = [
    "ENCODING_VERSION",
    "KEY_COLUMNS",
    "canonicalize",
    "hashed",
    "keys_digest",
    "keys_from_hashes",
    "logical_schema",
    "logical_type",
    "row_hashes",
    "row_keys",
    "schema_id",
    "with_keys",
]

KEY_COLUMNS: tuple[str, str] = ("__dsa_k1", "__dsa_k2")
"""Names of the columns holding a row's 96-bit key in row packs (int64 bytes 0-7, int32 bytes 8-11)."""
KEY_TYPES: tuple[pa.DataType, pa.DataType] = (pa.int64(), pa.int32())

ENCODING_VERSION: int = 1
"""Version of the row encoding specified in ``docs/hashing.md``."""

HASH_SIZE = 32
_MAGIC = f"dsa-row/{ENCODING_VERSION}\n"
_NAN = {pa.float32(): np.float32("nan"), pa.float64(): np.float64("nan")}  # quiet NaN, no payload
_TIME_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_MAX_DECIMAL_DIGITS = 38  # DuckDB's DECIMAL limit


def logical_type(arrow_type: pa.DataType) -> str:
    """The logical (hashing) type of an Arrow type.

    Physical variants of one kind of value share a logical type, so they hash alike:
    every integer width is ``int``, every string layout is ``string``, a dictionary is
    its value type, and so on (table in ``docs/hashing.md``).

    Args:
        arrow_type: the column's Arrow type.

    Returns:
        One of ``int float string bool date timestamp timestamptz decimal time binary null``.

    Raises:
        InvalidInput: the type is not supported (nested, duration, interval, extension...).
    """
    t = arrow_type
    if pa.types.is_dictionary(t):
        return logical_type(t.value_type)
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_time(t):
        return "time"
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_binary_view(t)):
        return "binary"
    if pa.types.is_null(t):
        return "null"
    raise InvalidInput(f"unsupported column type {t}: nested, duration, interval and extension types "
                       "cannot be versioned (encode them as string or binary first)", type=str(t))


def logical_schema(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    """The (name, logical type) pairs of a schema, sorted by name (Unicode code point order).

    Args:
        schema: an Arrow schema of user columns.

    Returns:
        ``((name, logical_type), ...)`` in name order — the order columns are encoded in.

    Raises:
        InvalidInput: duplicate or reserved (``__dsa_``) column names, or a column of an
            unsupported type (the message names the column).
    """
    seen: set[str] = set()
    pairs = []
    for field in schema:
        if field.name in seen:
            raise InvalidInput(f"duplicate column name {field.name!r}", column=field.name)
        if field.name.startswith(RESERVED_PREFIX):
            raise InvalidInput(f"column name {field.name!r} uses the reserved prefix {RESERVED_PREFIX!r}",
                               column=field.name)
        seen.add(field.name)
        try:
            pairs.append((field.name, logical_type(field.type)))
        except InvalidInput as e:
            raise InvalidInput(f"column {field.name!r}: {e.message}", column=field.name, type=str(field.type)) from e
    return tuple(sorted(pairs))


def canonicalize(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """The stored form of the data: values canonicalised, physical types otherwise kept.

    Strings and column names are NFC-normalised, ``-0.0`` becomes ``0.0``, every NaN
    becomes the one quiet NaN, dictionaries are decoded, ``string_view``/``binary_view``
    become ``string``/``binary``. Column order is unchanged; schema metadata is dropped.

    Args:
        table: the data (a table or one record batch).

    Returns:
        The canonical table.

    Raises:
        InvalidInput: a column cannot be versioned (see :func:`logical_schema`).
    """
    table = _as_table(table)
    names = [unicodedata.normalize("NFC", name) for name in table.column_names]
    if names != table.column_names:
        table = table.rename_columns(names)
    logical_schema(table.schema)
    fields, columns = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        column = _canonical_column(column)
        fields.append(pa.field(field.name, column.type, field.nullable))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def row_hashes(table: pa.Table | pa.RecordBatch) -> pa.FixedSizeBinaryArray:
    """The SHA-256 of every row's canonical encoding, in row order.

    Args:
        table: the data, canonical or not (it is canonicalised first).

    Returns:
        A ``fixed_size_binary(32)`` array, one hash per row.

    Raises:
        InvalidInput: a column cannot be versioned.
    """
    return _hashes_of_canonical(canonicalize(table))


def row_keys(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """The 96-bit row keys (first 12 bytes of each row hash) as an int64 and an int32 column.

    Args:
        table: the data, canonical or not.

    Returns:
        A table with columns :data:`KEY_COLUMNS`, one row per input row, in order.

    Raises:
        InvalidInput: a column cannot be versioned.
    """
    return keys_from_hashes(row_hashes(table))


def hashed(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """The canonical table with its row keys appended: what a row pack stores.

    Equivalent to ``canonicalize`` followed by ``row_keys`` but canonicalises once.

    Args:
        table: the data (a table or one record batch).

    Returns:
        The canonical table plus the int64 columns :data:`KEY_COLUMNS`.

    Raises:
        InvalidInput: a column cannot be versioned.
    """
    return with_keys(canonicalize(table))


def with_keys(canonical: pa.Table) -> pa.Table:
    """A table already made canonical by :func:`canonicalize`, with its row keys appended.

    Lets a pipeline canonicalise (reading side) and hash (DuckDB side) in separate steps.

    Args:
        canonical: the output of :func:`canonicalize`.

    Returns:
        The table plus the columns :data:`KEY_COLUMNS`.
    """
    keys = keys_from_hashes(_hashes_of_canonical(canonical))
    for name in KEY_COLUMNS:
        canonical = canonical.append_column(name, keys.column(name))
    return canonical


def keys_from_hashes(hashes: pa.FixedSizeBinaryArray | pa.ChunkedArray) -> pa.Table:
    """Split row hashes into 96-bit row keys: bytes 0-7 as a big-endian signed int64
    (``__dsa_k1``) and bytes 8-11 as a big-endian signed int32 (``__dsa_k2``).

    Args:
        hashes: ``fixed_size_binary(32)`` row hashes without nulls.

    Returns:
        A table with columns :data:`KEY_COLUMNS`.

    Raises:
        InvalidInput: the array is not 32-byte binary or holds nulls.
    """
    if isinstance(hashes, pa.ChunkedArray):
        hashes = hashes.combine_chunks() if hashes.num_chunks else pa.array([], pa.binary(HASH_SIZE))
    if hashes.type != pa.binary(HASH_SIZE):
        raise InvalidInput(f"row hashes must be fixed_size_binary({HASH_SIZE}), not {hashes.type}",
                           type=str(hashes.type))
    if hashes.null_count:
        raise InvalidInput("row hashes must not contain nulls")
    n = len(hashes)
    raw = np.frombuffer(hashes.buffers()[1], dtype=np.uint8, count=HASH_SIZE * n, offset=hashes.offset * HASH_SIZE)
    raw = raw.reshape(n, HASH_SIZE)
    k1 = np.ascontiguousarray(raw[:, 0:8]).view(">i8").reshape(n).astype(np.int64)
    k2 = np.ascontiguousarray(raw[:, 8:12]).view(">i4").reshape(n).astype(np.int32)
    return pa.table({KEY_COLUMNS[0]: k1, KEY_COLUMNS[1]: k2})


_KEY_RECORD = np.dtype([("k1", ">i8"), ("k2", ">i4")])  # 12 packed bytes per row


def key_bytes(keys: pa.Table | pa.RecordBatch) -> bytes:
    """The row keys in order as bytes, 12 per row: big-endian k1 (8) || k2 (4), i.e. the
    first 12 bytes of each row hash.

    Raises:
        InvalidInput: a key column is missing, of the wrong type, or holds nulls.
    """
    keys = _as_table(keys)
    packed = np.empty(keys.num_rows, dtype=_KEY_RECORD)
    for field_name, name, arrow_type in (("k1", KEY_COLUMNS[0], pa.int64()), ("k2", KEY_COLUMNS[1], pa.int32())):
        if name not in keys.column_names:
            raise InvalidInput(f"key table has no column {name!r}", column=name)
        column = keys.column(name)
        if column.type != arrow_type or column.null_count:
            raise InvalidInput(f"key column {name!r} must be {arrow_type} without nulls", column=name)
        packed[field_name] = column.to_numpy()
    return packed.tobytes()


def keys_digest(keys: pa.Table | pa.RecordBatch) -> bytes:
    """SHA-256 over :func:`key_bytes` (the row keys in order).

    Returns:
        The 32-byte digest (of the empty string for no rows).
    """
    return hashlib.sha256(key_bytes(keys)).digest()


# --------------------------------------------------------------------------- canonical values


def _as_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        return data
    raise InvalidInput(f"expected a pyarrow Table or RecordBatch, not {type(data).__name__}")


def _canonical_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = t.value_type
    if pa.types.is_string_view(t):
        column = column.cast(pa.string())
    elif pa.types.is_binary_view(t):
        column = column.cast(pa.binary())
    if logical_type(column.type) == "string":
        return pc.utf8_normalize(column, "NFC")
    if pa.types.is_floating(t):
        return _canonical_float(column)
    return column


def _canonical_float(column: pa.ChunkedArray) -> pa.ChunkedArray:
    t = column.type
    if t == pa.float16():  # Arrow has no float16 kernels; the round trip is exact
        return _canonical_float(column.cast(pa.float32())).cast(t)
    column = pc.add(column, pa.scalar(0.0, t))  # IEEE 754: -0.0 + 0.0 == +0.0
    nan = pc.is_nan(column)
    if pc.any(nan).as_py():
        column = pc.if_else(nan, pa.scalar(_NAN[t], t), column)
    return column


# --------------------------------------------------------------------------- the encoding


def schema_id(schema: tuple[tuple[str, str], ...]) -> str:
    """The 64 hex digits that start every row encoding of a logical schema (docs/hashing.md)."""
    header = _MAGIC + "".join(_netstring(name) + _netstring(ltype) for name, ltype in schema)
    return hashlib.sha256(header.encode()).hexdigest()


def _hashes_of_canonical(table: pa.Table) -> pa.FixedSizeBinaryArray:
    """Row hashes of an already canonical table, in DuckDB.

    A table of at most :data:`_BLOCK_COLUMNS` columns is hashed in one query. A wider one
    is encoded :data:`_BLOCK_COLUMNS` columns at a time (one query per block, each giving
    the concatenated fields of its columns) and the blocks are then concatenated and
    hashed: the bytes hashed are the same, and the cost stays linear in the width (one
    query over 4,000 columns takes ~4x as long as over 2,000).
    """
    schema = logical_schema(table.schema)
    if table.num_rows == 0:
        return pa.array([], pa.binary(HASH_SIZE))
    sid = schema_id(schema)
    with _connection() as con:
        if len(schema) <= _BLOCK_COLUMNS:
            return _unhex(_run(con, table, schema, "sha256(concat($sid, {}))", {"sid": sid}))
        blocks = {f"b{i}": _run(con, table, schema[start:start + _BLOCK_COLUMNS], "concat({})", {})
                  for i, start in enumerate(range(0, len(schema), _BLOCK_COLUMNS))}
        con.register("__dsa_blocks", pa.table(blocks))
        try:
            sql = f"SELECT sha256(concat($sid, {', '.join(blocks)})) FROM __dsa_blocks"
            result = con.sql(sql, params={"sid": sid}).to_arrow_table().column(0)
        finally:
            con.unregister("__dsa_blocks")
    return _unhex(result.combine_chunks())


_BLOCK_COLUMNS = 128


def _run(con: duckdb.DuckDBPyConnection, table: pa.Table, columns: tuple[tuple[str, str], ...], outer: str,
         params: dict) -> pa.Array:
    """One query over ``columns``: their fields concatenated, wrapped in ``outer``."""
    inputs = {"_": pa.nulls(table.num_rows)}  # a table needs one column even with none to hash
    values, parts = [], []
    for i, (name, ltype) in enumerate(columns):
        inputs[f"c{i}"], value_sql = _value_text(table.column(name), ltype, f"c{i}", name)
        values.append(f"{value_sql} AS v{i}")
        # NULL -> 'N'; a value -> '<length in bytes>:<text>' (concat() skips NULL arguments)
        parts.append(f"strlen(v{i}), CASE WHEN v{i} IS NULL THEN 'N' ELSE ':' END, v{i}")
    expr = outer.format(", ".join(parts)) if parts else outer.format("''")
    sql = f"SELECT {expr} FROM (SELECT {', '.join(values) or 'NULL'} FROM __dsa_rows)"
    from . import engine  # noqa: PLC0415 — DuckDB loads on the first hash

    con.register("__dsa_rows", pa.table(inputs))
    try:
        with engine.memory_errors(f"hashing {table.num_rows:,} rows of {table.num_columns:,} columns"):
            column = con.sql(sql, params=params or None).to_arrow_table().column(0)
    finally:
        con.unregister("__dsa_rows")
    return column.combine_chunks()


def _unhex(digests: pa.StringArray) -> pa.FixedSizeBinaryArray:
    """64-character hex digests (no nulls) as 32-byte binaries (one C call; DuckDB's unhex is slower)."""
    if digests.type != pa.string():
        digests = digests.cast(pa.string())
    n = len(digests)
    offsets = np.frombuffer(digests.buffers()[1], dtype=np.int32, count=n + 1, offset=digests.offset * 4)
    text = memoryview(digests.buffers()[2])[int(offsets[0]):int(offsets[-1])]
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(HASH_SIZE), n, [None, pa.py_buffer(binascii.unhexlify(text))])


def _value_text(column: pa.ChunkedArray, ltype: str, ref: str, name: str) -> tuple[pa.ChunkedArray, str]:
    """The column as DuckDB input and the SQL for its value text (NULL for NULL)."""
    t = column.type
    text = f"CAST({ref} AS VARCHAR)"
    if ltype == "float":  # IEEE 754 binary64 bits as an unsigned integer, uppercase hex
        wide = column.cast(pa.float64())
        return pa.chunked_array([c.view(pa.uint64()) for c in wide.chunks], pa.uint64()), f"hex({ref})"
    if ltype == "date":  # days since 1970-01-01
        if pa.types.is_date64(t):
            column = _cast(column, pa.date32(), name, "date64 values must be whole days")
        return column.cast(pa.int32()), text
    if ltype in ("timestamp", "timestamptz"):  # nanoseconds since the epoch, exact
        zeros = "0" * (len(str(_TIME_NS[t.unit])) - 1)
        sql = f"CASE WHEN {ref} = 0 THEN '0' ELSE {text} || '{zeros}' END" if zeros else text
        return column.cast(pa.int64()), sql
    if ltype == "time":  # nanoseconds since midnight
        ints = column.cast(pa.int32() if pa.types.is_time32(t) else pa.int64())
        return ints, f"CAST(CAST({ref} AS BIGINT) * {_TIME_NS[t.unit]} AS VARCHAR)"
    if ltype == "decimal":  # plain notation without trailing fractional zeros
        column = _decimal128(column, name)
        if column.type.precision == column.type.scale:  # DuckDB writes .5 for DECIMAL(1,1)
            text = rf"regexp_replace({text}, '^(-?)\.', '\10.')"
        if column.type.scale > 0:
            text = f"rtrim(rtrim({text}, '0'), '.')"
        return column, text
    if ltype == "binary":
        return column, f"hex({ref})"
    return column, text  # int, string (already NFC), bool ('true'/'false'), null


def _decimal128(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """The same decimal values as a decimal128 DuckDB accepts (scale >= 0, <= 38 digits)."""
    t = column.type
    precision, scale = t.precision - min(t.scale, 0), max(t.scale, 0)
    if pa.types.is_decimal128(t) and t.scale >= 0:
        return column
    target = pa.decimal128(min(precision, _MAX_DECIMAL_DIGITS), scale)
    return _cast(column, target, name, f"decimals are limited to {_MAX_DECIMAL_DIGITS} digits")


def _cast(column: pa.ChunkedArray, target: pa.DataType, name: str, rule: str) -> pa.ChunkedArray:
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InvalidInput(f"column {name!r}: {rule} ({e})", column=name) from e


def _netstring(text: str) -> str:
    return f"{len(text.encode())}:{text}"


_pool: dict[int, list[duckdb.DuckDBPyConnection]] = {}  # per process id: a forked child opens its own
_pool_lock = threading.Lock()


@contextmanager
def _connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection from a small process-wide pool (opening one costs ~10 ms,
    and ingest hashes in a fresh thread per upload, so a per-thread cache would reopen it each time)."""
    pid = os.getpid()
    with _pool_lock:
        idle = _pool.setdefault(pid, [])
        con = idle.pop() if idle else None
    if con is None:
        from . import engine  # noqa: PLC0415

        con = engine.connect()
        con.execute("SET preserve_insertion_order = true")
    try:
        yield con
    finally:
        with _pool_lock:
            _pool.setdefault(pid, []).append(con)
