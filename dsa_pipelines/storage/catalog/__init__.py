"""The transactional catalog: datasets, commits, refs, reflog (SQLite or PostgreSQL)."""

from .db import connect_catalog
from .schema import metadata

__all__ = ["connect_catalog", "metadata"]
