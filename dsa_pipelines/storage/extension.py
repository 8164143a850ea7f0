"""The documented extension points for features built on the store.

``dsa_pipelines.quality`` and ``dsa_pipelines.sampling`` import only the store's public
names (``dsa_pipelines.storage.__all__``) and this module. It gives them:

- ``metadata``: the catalog's SQLAlchemy metadata. A feature declares its own tables
  on it (so foreign keys to ``commits`` resolve and one migration history covers the
  whole catalog); it reaches them through ``Store.catalog_read`` / ``Store.catalog_write``.
  Its migrations live with the catalog's (``storage/catalog/migrations``), each feature
  an independent Alembic branch off ``0001``.
- ``commits``, ``commit_tables``: the core tables, for **read-only** joins with a
  feature's own tables (e.g. "commits without statistics"). Writing them is the store's job.
- ``NAME``, ``OID``, ``TIME``: the column types the catalog uses for names, object ids
  and times (ISO-8601 UTC text, see :func:`utc_now`).
- ``duckdb_connect``: the one DuckDB connection factory (memory-limited, in-memory).
- ``logical_type`` / ``logical_schema``: the logical types rows are hashed with.
- ``utc_now`` / ``format_time``: times as the catalog stores them.
"""

from .catalog.schema import NAME, OID, TIME, commit_tables, commits, metadata
from .engine import connect as duckdb_connect
from .hashing import logical_schema, logical_type
from .models import format_time, utc_now

__all__ = [
    "NAME",
    "OID",
    "TIME",
    "commit_tables",
    "commits",
    "duckdb_connect",
    "format_time",
    "logical_schema",
    "logical_type",
    "metadata",
    "utc_now",
]
