"""DuckDB, the in-process engine: the one place that opens connections, with bounded memory.

Every connection is in-memory (no DuckDB database file is ever the store). Its memory
limit keeps ingest, statistics and sampling flat as inputs grow; DuckDB spills to disk
beyond it. Set ``DSA_DUCKDB_MEMORY_LIMIT`` (e.g. ``2GB``) on bigger machines. Options
are passed as DuckDB configuration, never spliced into SQL text.
"""

from __future__ import annotations

import os

import duckdb

from dsa_pipelines import settings


def connect(memory_limit: str | None = None,
            temp_directory: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with a memory limit.

    Args:
        memory_limit: DuckDB size string; default ``$DSA_DUCKDB_MEMORY_LIMIT`` or 512MB.
        temp_directory: Where DuckDB may spill (default: DuckDB's own choice).
    """
    config = {"memory_limit": memory_limit or settings.current().duckdb_memory_limit}
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    return duckdb.connect(config=config)
