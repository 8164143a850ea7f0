"""The one resource: the version store, configured through Dagster's ``dg.EnvVar``.

The code location binds ``StoreResource(root=dg.EnvVar("DSA_STORE_ROOT"),
catalog_url=dg.EnvVar("DSA_CATALOG_URL"))``: Dagster resolves both when a run or sensor
starts (and shows them as environment variables on the resource's page), never when the
code loads. Both must be set in the code location's environment — an empty value means
the embedded default (``data/store`` with a SQLite catalog inside it); ``make dev`` and
``make run`` set them.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field, PrivateAttr

from dsa_pipelines.storage import Store

STORE_ROOT_ENV = "DSA_STORE_ROOT"
CATALOG_URL_ENV = "DSA_CATALOG_URL"


class StoreResource(dg.ConfigurableResource):
    """Opens the version store (objects under ``root``, catalog at ``catalog_url``)."""

    root: str = Field(default="", description="Store root folder (empty: data/store).")
    catalog_url: str = Field(
        default="", description="SQLAlchemy URL of the catalog (empty: a SQLite file in the root).")
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
    """The code location's resource: both fields are ``dg.EnvVar``, resolved by Dagster at run time."""
    return StoreResource(root=dg.EnvVar(STORE_ROOT_ENV), catalog_url=dg.EnvVar(CATALOG_URL_ENV))


defs = dg.Definitions(resources={"store": store_resource()})
