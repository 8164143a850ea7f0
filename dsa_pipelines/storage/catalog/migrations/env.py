"""Alembic environment: always runs on the connection handed over by ``connect_catalog``."""

from alembic import context

from dsa_pipelines.storage.catalog import search_index
from dsa_pipelines.storage.catalog.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  include_name=search_index.include_name)
with context.begin_transaction():
    context.run_migrations()
