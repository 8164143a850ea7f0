"""DuckDB, the in-process engine: the one place that opens connections, with bounded memory.

Every connection is in-memory (no DuckDB database file is ever the store). Its memory
limit keeps ingest, statistics and sampling flat as inputs grow; DuckDB spills to disk
beyond it. Set ``DSA_DUCKDB_MEMORY_LIMIT`` (e.g. ``2GB``) on bigger machines. Options
are passed as DuckDB configuration, never spliced into SQL text.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING

from dsa_pipelines import settings

from .errors import InvalidInput, ResourceLimit

if TYPE_CHECKING:
    import duckdb


def _duckdb() -> ModuleType:
    """The duckdb module, imported on first use: a command that never computes (``dsa log``) never loads it."""
    return importlib.import_module("duckdb")

WIDE_COLUMNS = 1000
"""From this many columns on, a CSV scan runs on one thread with :func:`wide_memory_limit`."""
BYTES_PER_WIDE_COLUMN = 100 * 1024
"""What DuckDB's CSV scanner reserves per column (2,048-row vectors, measured at 10,000 columns)."""
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_limit_setting() -> str:
    """The configured DuckDB memory limit (``DSA_DUCKDB_MEMORY_LIMIT``, see :mod:`dsa_pipelines.settings`)."""
    return settings.current().duckdb_memory_limit


def size_bytes(text: str) -> int | None:
    """``"512MB"`` → 512,000,000 (DuckDB's units); None if it cannot be parsed."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def wide_memory_limit(columns: int) -> str:
    """The memory limit for scanning a file of ``columns`` columns: the configured one, or more for a
    very wide file (DuckDB's CSV scanner holds a 2,048-row vector per column)."""
    configured = memory_limit_setting()
    need = columns * BYTES_PER_WIDE_COLUMN
    have = size_bytes(configured)
    return configured if have is None or have >= need else f"{need // 1024**2 + 1}MiB"


@contextmanager
def memory_errors(what: str) -> Iterator[None]:
    """Turn DuckDB running out of memory inside the block into a :class:`ResourceLimit` saying what to change."""
    try:
        yield
    except Exception as e:
        if not isinstance(e, _duckdb().OutOfMemoryException):
            raise
        raise ResourceLimit(
            f"{what}: DuckDB ran out of memory under its limit of {memory_limit_setting()}; "
            f"raise DSA_DUCKDB_MEMORY_LIMIT (e.g. 2GB) ({str(e).splitlines()[0]})",
            limit=memory_limit_setting(), setting="DSA_DUCKDB_MEMORY_LIMIT") from e


def connect(memory_limit: str | None = None,
            temp_directory: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with a memory limit.

    Args:
        memory_limit: DuckDB size string; default ``$DSA_DUCKDB_MEMORY_LIMIT`` or 512MB.
        temp_directory: Where DuckDB may spill (default: DuckDB's own choice).
    """
    config = {"memory_limit": memory_limit or memory_limit_setting()}
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    duckdb = _duckdb()
    try:
        return duckdb.connect(config=config)
    except duckdb.Error as e:
        raise InvalidInput(f"DuckDB refused its settings ({config}; check DSA_DUCKDB_MEMORY_LIMIT, e.g. 2GB): {e}",
                           setting="DSA_DUCKDB_MEMORY_LIMIT") from e
