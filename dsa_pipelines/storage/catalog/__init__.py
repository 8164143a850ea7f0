"""The transactional catalog: datasets, commits, refs and reflog (SQLite or PostgreSQL).

:class:`Catalog` opens the database and hands out read and write transactions; the
modules ``datasets``, ``commits``, ``refs`` and ``feeds`` hold the only SQL over the
core tables. Feature packages (statistics, sampling) own their tables' SQL and reach
the database only through :meth:`Catalog.read` / :meth:`Catalog.write`, via the
store's documented extension point (``Store.catalog_read`` / ``Store.catalog_write``).
"""

from .database import Catalog, connect_catalog
from .schema import metadata

__all__ = ["Catalog", "connect_catalog", "metadata"]
