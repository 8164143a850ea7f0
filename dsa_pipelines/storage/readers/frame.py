"""In-memory tables: an Arrow table or a pandas DataFrame as a :class:`SourceTable`."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa

from ..errors import InvalidInput
from .source import (
    BATCH_ROWS,
    SourceTable,
    batch_rows,
    check_column_names,
    check_column_types,
    plain_schema,
)


def source_from_frame(name: str, data: pa.Table | pd.DataFrame, *, origin: str = "DataFrame") -> SourceTable:
    """Wrap an in-memory table as a :class:`SourceTable`.

    pandas rules: a *named* index level becomes a column (placed first, as
    ``reset_index`` would); an unnamed index — the default ``RangeIndex``, or what is
    left after filtering rows — is dropped, since it only numbers the rows. Column labels
    become strings; object columns of ``str`` become ``string``; NaN in a float column
    is NULL; categoricals become their value type. A table with no rows is accepted
    (unlike an uploaded file, an empty in-memory table is explicit).

    Args:
        name: The table name.
        data: The rows.
        origin: Describes the data in messages.

    Returns:
        The source table; ``row_count_hint`` is the row count.

    Raises:
        InvalidInput: Empty, duplicate or reserved column names, MultiIndex columns, or
            a column pandas cannot convert to one Arrow type (e.g. mixed str and int).
    """
    if isinstance(data, pd.DataFrame):
        table = _from_pandas(data, origin)
    elif isinstance(data, pa.Table):
        check_column_names(data.column_names, origin=origin)
        table = data
    else:
        raise InvalidInput(f"{origin}: expected a pyarrow Table or pandas DataFrame, got {type(data).__name__}")
    if not table.column_names:
        raise InvalidInput(f"{origin}: the table has no columns")
    check_column_types(table.schema, origin=origin)
    schema = plain_schema(table.schema)
    if not table.schema.equals(schema, check_metadata=True):
        table = table.cast(schema)

    def batches() -> Iterator[pa.RecordBatch]:
        return iter(table.to_batches(max_chunksize=min(BATCH_ROWS, batch_rows(table.num_columns))))

    return SourceTable(name=name, origin=origin, schema=schema, batches=batches, row_count_hint=table.num_rows)


def _from_pandas(df: pd.DataFrame, origin: str) -> pa.Table:
    if isinstance(df.columns, pd.MultiIndex):
        raise InvalidInput(f"{origin}: MultiIndex columns are not supported; flatten them to single names")
    index_names = [n for n in df.index.names if n is not None]
    check_column_names([str(n) for n in index_names] + [str(c) for c in df.columns], origin=origin)
    if index_names:
        df = df.reset_index(level=index_names)
    df = df.set_axis([str(c) for c in df.columns], axis=1)
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as e:
        raise InvalidInput(f"{origin}: cannot convert to Arrow: {e}") from e
