"""The one resource: the version store, opened from environment configuration."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from dsa_pipelines.storage import Store


class StoreResource(dg.ConfigurableResource):
    """Opens the version store (objects under ``root``, catalog at ``catalog_url``).

    Both default to the environment (``DSA_STORE_ROOT``, ``DSA_CATALOG_URL``) and then to
    the embedded defaults: ``data/store`` with a SQLite catalog inside it.
    """

    root: str = Field(default="", description="Store root folder (empty: $DSA_STORE_ROOT or data/store).")
    catalog_url: str = Field(
        default="", description="SQLAlchemy URL of the catalog (empty: $DSA_CATALOG_URL or SQLite in the root)."
    )
    _store: Store | None = PrivateAttr(default=None)

    def open(self) -> Store:
        """The store (opened once per process and reused)."""
        if self._store is None:
            self._store = Store.open(self.root or None, self.catalog_url or None)
        return self._store

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def store_resource() -> StoreResource:
    """The resource as configured from the environment (read when Dagster loads the code)."""
    return StoreResource(
        root=dg.EnvVar("DSA_STORE_ROOT").get_value(default="") or "",
        catalog_url=dg.EnvVar("DSA_CATALOG_URL").get_value(default="") or "",
    )
