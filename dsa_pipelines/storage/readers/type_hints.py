"""Types a text file cannot state, taken from the table it replaces.

CSV has no types: DuckDB detects them from the text, so a decimal column comes back as
DOUBLE, a binary one as text, an integral float column as BIGINT, zip codes as numbers.
When an upload replaces a table of the branch head, each column whose detected type
would change its logical type is read again with the stored type — kept only if every
value converts (else the detected types stand, and drift is reported as usual). So an
export uploaded again, or next month's CSV of the same table, keeps its types.
"""

from __future__ import annotations

import pyarrow as pa

from ..errors import InvalidInput
from ..hashing import logical_type


def duckdb_type(arrow_type: pa.DataType) -> str | None:
    """The DuckDB type that reads CSV text into ``arrow_type`` exactly, or None if there is none."""
    t = arrow_type
    if pa.types.is_decimal(t) and 0 <= t.scale <= t.precision <= 38:
        return f"DECIMAL({t.precision},{t.scale})"
    simple = [(pa.types.is_binary, "BLOB"), (pa.types.is_large_binary, "BLOB"), (pa.types.is_string, "VARCHAR"),
              (pa.types.is_large_string, "VARCHAR"), (pa.types.is_boolean, "BOOLEAN"), (pa.types.is_date32, "DATE"),
              (pa.types.is_time, "TIME")]
    for test, name in simple:
        if test(t):
            return name
    if pa.types.is_floating(t):
        return "FLOAT" if t == pa.float32() else "DOUBLE"
    if pa.types.is_integer(t):
        unsigned = "U" if pa.types.is_unsigned_integer(t) else ""
        return unsigned + {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[t.bit_width]
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    return None


def pinned_types(detected: pa.Schema, stored: pa.Schema) -> dict[str, str]:
    """{column: DuckDB type} for the columns whose detected logical type differs from the stored one."""
    out = {}
    for field in detected:
        if field.name not in stored.names:
            continue
        want = stored.field(field.name).type
        try:
            if logical_type(field.type) == logical_type(want):
                continue
        except InvalidInput:
            continue
        if (name := duckdb_type(want)) is not None:
            out[field.name] = name
    return out
