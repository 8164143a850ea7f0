"""The value every reader produces, and the rules every source table obeys.

A :class:`SourceTable` is a named, typed, re-iterable stream of Arrow record batches.
Whatever the format, its column names pass :func:`check_column_names` and its types
are plain (:func:`plain_schema`): a dictionary-encoded, large or view variant of a
type is delivered as the plain type holding the same values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from ..errors import InvalidFile, InvalidInput, SourceRestart
from ..hashing import logical_type
from ..names import _HIDDEN, RESERVED_PREFIX

BATCH_ROWS = 131_072
"""Rows per record batch (a multiple of DuckDB's 2,048-row vector) of a table of up to 64 columns."""
BATCH_CELLS = 8 * 1024 * 1024
"""Values per record batch: a wider table gets fewer rows per batch (at least 1,024), so a batch of a
10,000-column file is ~1,000 rows, not 131,072 (which would be gigabytes)."""


def batch_rows(columns: int) -> int:
    """Rows per batch for a table of ``columns`` columns (see :data:`BATCH_CELLS`)."""
    return max(1024, min(BATCH_ROWS, BATCH_CELLS // max(columns, 1)))


@dataclass(frozen=True)
class SourceTable:
    """One table to upload: a name, a schema and a re-iterable stream of batches.

    Attributes:
        name: The table name: the given name, else the file stem; a workbook's sheet name.
        origin: Where the rows come from, for messages: ``"orders.csv"``,
            ``"sales.xlsx, sheet 'Q1'"``, ``"DataFrame"``.
        schema: The Arrow schema of every batch.
        batches: Returns a fresh iterator over the rows as record batches of at most
            :func:`batch_rows` rows; each call reads the source again.
        row_count_hint: The number of rows when known without reading the batches.
    """

    name: str
    origin: str
    schema: pa.Schema
    batches: Callable[[], Iterator[pa.RecordBatch]]
    row_count_hint: int | None = None

    def to_table(self) -> pa.Table:
        """Read every batch into one Arrow table (materialises the whole source), following a
        reader's :class:`~dsa_pipelines.storage.errors.SourceRestart` as ingest does.

        Returns:
            The rows, with the schema of the source that was finally read.
        """
        source = self
        while True:
            try:
                return pa.Table.from_batches(list(source.batches()), schema=source.schema)
            except SourceRestart as restart:
                source = restart.source


def plain_type(data_type: pa.DataType) -> pa.DataType:
    """The plain Arrow type holding the same values as ``data_type``.

    Dictionary-encoded becomes its value type, large/view strings and binaries become
    ``string``/``binary``, and the all-null type becomes ``string``.
    """
    if pa.types.is_dictionary(data_type):
        return plain_type(data_type.value_type)
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return pa.binary()
    if pa.types.is_null(data_type):
        return pa.string()
    return data_type


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with plain types and without schema or field metadata."""
    return pa.schema([pa.field(f.name, plain_type(f.type), f.nullable) for f in schema])


def conform_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Cast ``batch`` (same column order) to ``schema``, metadata included; a no-op when it fits."""
    if batch.schema.equals(schema, check_metadata=True):
        return batch
    columns = [col if col.type == f.type else col.cast(f.type) for col, f in zip(batch.columns, schema)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def conformed(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Yield ``batches`` cast to ``schema``."""
    for batch in batches:
        yield conform_batch(batch, schema)


def invalid_file(
    message: str,
    *,
    path: str,
    line: int | None = None,
    column: str | None = None,
    byte_offset: int | None = None,
    **fields: object,
) -> InvalidFile:
    """An :class:`InvalidFile` with all four location fields set (None where unknown)."""
    return InvalidFile(message, path=path, line=line, column=column, byte_offset=byte_offset, **fields)


def check_column_types(schema: pa.Schema, *, origin: str, path: str | None = None) -> None:
    """Refuse columns whose type cannot be versioned, naming every one of them (and the file).

    Nested types (struct, list, map), durations, intervals and extension types have no
    canonical encoding yet (``docs/hashing.md``); encode them as string or binary first.

    Raises:
        InvalidFile: in a file (``path`` given); InvalidInput: in an in-memory table.
    """
    bad = []
    for field in schema:
        try:
            logical_type(field.type)
        except InvalidInput:
            bad.append(f"{field.name!r} ({field.type})")
    if not bad:
        return
    message = (f"{origin}: {len(bad)} column(s) of a type that cannot be versioned: {', '.join(bad)}; nested "
               "(struct, list, map), duration, interval and extension types are not supported — encode them as "
               "string (e.g. JSON) or binary first")
    first = schema.names[[f"{n!r} ({t})" for n, t in zip(schema.names, schema.types)].index(bad[0])]
    if path is not None:
        raise invalid_file(message, path=path, column=first, columns=bad)
    raise InvalidInput(message, column=first, columns=bad)


def _hidden_character(name: str) -> str | None:
    """The first character of a column name that no header should hold (NUL and other controls
    except tab and line breaks, lone surrogates, bidi controls, zero-width space, BOM)."""
    for ch in name:
        if ch in "\t\n\r":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in _HIDDEN:
            return ch
    return None


def _default_label(position: int) -> str:
    return f"column {position}"


def check_column_names(
    names: Sequence[str | None],
    *,
    origin: str,
    path: str | None = None,
    label: Callable[[int], str] = _default_label,
) -> None:
    """Reject empty, duplicate and reserved column names; never rename them.

    Names are duplicates when they are equal ignoring case, surrounding whitespace and
    Unicode normalisation (``"ID"`` and ``"id "``; ``café`` precomposed and decomposed):
    DuckDB, the store's engine, resolves identifiers without regard to case, and the
    store keeps names in NFC, so such a pair could not be told apart. A name holding a
    control character other than tab and line breaks (NUL…), a lone surrogate, a
    bidirectional control, a zero-width space or a BOM is refused.

    Args:
        names: The column names in order (``None`` counts as empty).
        origin: The source, for the message.
        path: The file, when the names come from one (the error is then an InvalidFile).
        label: Describes a 1-based column position for messages (e.g. Excel letters).

    Raises:
        InvalidFile: A bad name in a file (``path`` given).
        InvalidInput: A bad name in an in-memory table.
    """
    problems: list[str] = []
    first_bad: str | None = None
    groups: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        if name is None or not name.strip():
            problems.append(f"{label(position)} has an empty name")
            continue
        if name.startswith(RESERVED_PREFIX):
            problems.append(f"{label(position)} {name!r} starts with the reserved prefix {RESERVED_PREFIX!r}")
            first_bad = first_bad or name
        if (ch := _hidden_character(name)) is not None:
            problems.append(f"{label(position)} {name!r} contains the invisible or control character "
                            f"U+{ord(ch):04X}")
            first_bad = first_bad or name
            continue
        groups.setdefault(unicodedata.normalize("NFC", name.strip()).casefold(), []).append(position)
    for positions in groups.values():
        if len(positions) > 1:
            listed = " and ".join(f"{label(p)} {names[p - 1]!r}" for p in positions)
            problems.append(f"duplicate column name: {listed}")
            first_bad = first_bad or names[positions[0] - 1]
    if not problems:
        return
    message = f"{origin}: " + "; ".join(problems)
    if any(p.startswith("duplicate") for p in problems):
        message += " (names are compared ignoring case and surrounding spaces)"
    if path is not None:
        raise invalid_file(message, path=path, column=first_bad)
    raise InvalidInput(message, column=first_bad)
