"""DuckDB, the in-process engine: one place that opens connections with bounded memory.

Every connection is in-memory (no DuckDB database file is ever the store). Its memory
limit keeps ingest, statistics and sampling flat as inputs grow; DuckDB spills to disk
beyond it. Set ``DSA_DUCKDB_MEMORY_LIMIT`` (e.g. ``2GB``) on bigger machines.
"""

from __future__ import annotations

import os

import duckdb

from .errors import InvalidInput

DEFAULT_MEMORY_LIMIT = "512MB"


def connect(memory_limit: str | None = None, temp_directory: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with a memory limit.

    Args:
        memory_limit: DuckDB size string; default ``$DSA_DUCKDB_MEMORY_LIMIT`` or 512MB.
        temp_directory: Where DuckDB may spill (default: DuckDB's own choice).
    """
    limit = memory_limit or os.environ.get("DSA_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    con = duckdb.connect()
    try:  # bound parameters: a limit or a path is never part of the SQL text
        con.execute("SET memory_limit = ?", [str(limit)])
        if temp_directory is not None:
            con.execute("SET temp_directory = ?", [str(temp_directory)])
    except duckdb.Error as e:
        con.close()
        raise InvalidInput(f"DuckDB setting rejected (memory_limit={limit!r}, temp_directory={temp_directory!r}; "
                           f"check DSA_DUCKDB_MEMORY_LIMIT, e.g. 2GB): {e}", memory_limit=limit) from e
    return con
