"""Parquet files, streamed with ``ParquetFile.iter_batches`` in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .source import (
    SourceTable,
    batch_rows,
    check_column_names,
    check_column_types,
    conform_batch,
    invalid_file,
    plain_schema,
)


def open_parquet(path: Path, *, name: str, origin: str) -> SourceTable:
    """Open a Parquet file as a :class:`SourceTable`, with its types as stored.

    Only the footer is read here; a data page that turns out corrupt raises
    :class:`InvalidFile` from the batch iterator. Like a header-only CSV, a file with no
    rows is rejected as almost certainly a mistake.

    Args:
        path: The file (already checked to start and end with ``PAR1``).
        name: The table name.
        origin: The file as named in messages.

    Returns:
        The source table; ``row_count_hint`` is the row count from the footer.

    Raises:
        InvalidFile: The footer is unreadable, a column name is bad, or there are no rows.
    """
    where = str(path)
    try:
        with pq.ParquetFile(path) as pf:
            stored = pf.schema_arrow
            rows = pf.metadata.num_rows
    except (pa.ArrowException, OSError) as e:
        raise invalid_file(f"{origin}: is not a readable Parquet file (truncated or corrupt): {e}", path=where) from e
    if not stored.names:
        raise invalid_file(f"{origin}: Parquet file has no columns", path=where)
    check_column_names(stored.names, origin=origin, path=where)
    check_column_types(stored, origin=origin, path=where)
    if rows == 0:
        raise invalid_file(f"{origin}: Parquet file has no rows", path=where)
    schema = plain_schema(stored)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            with pq.ParquetFile(path) as pf:
                for batch in pf.iter_batches(batch_size=batch_rows(len(schema))):
                    yield conform_batch(batch, schema)
        except (pa.ArrowException, OSError) as e:
            raise invalid_file(f"{origin}: corrupt Parquet data: {e}", path=where) from e

    return SourceTable(name=name, origin=origin, schema=schema, batches=batches, row_count_hint=rows)
