"""The catalog schema: migrations create exactly what the code's tables describe."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import dsa_pipelines.quality.tables  # noqa: F401
import dsa_pipelines.sampling.tables  # noqa: F401 — registers its tables on metadata
import dsa_pipelines.storage.catalog.gc_schema  # noqa: F401
import dsa_pipelines.storage.catalog.key_index_schema  # noqa: F401
import dsa_pipelines.storage.catalog.keys_schema  # noqa: F401
from dsa_pipelines.storage import Store
from dsa_pipelines.storage.catalog import connect_catalog, metadata, search_index


def test_migrations_match_the_table_definitions(catalog_url: str):
    engine = connect_catalog(catalog_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": search_index.include_name})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_opening_twice_is_idempotent(shared_catalog_url: str, tmp_path: Path):
    with Store.open(tmp_path, shared_catalog_url) as s:
        s.create_dataset("kept")
    with Store.open(tmp_path, shared_catalog_url) as s:
        assert [d.name for d in s.list_datasets()] == ["kept"]


def _open(root: str, url: str, barrier) -> None:  # noqa: ANN001
    barrier.wait(timeout=60)
    Store.open(root, url).close()


def test_many_processes_open_a_fresh_sqlite_catalog_at_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_open, args=(str(tmp_path), url, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    engine = sa.create_engine(url)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() >= 1
    engine.dispose()


def test_the_migration_heads_read_without_alembic_are_alembics_heads():
    """Opening an up-to-date catalog skips importing alembic; its head check must agree with alembic's."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from dsa_pipelines.storage.catalog import database as db

    cfg = Config()
    cfg.set_main_option("script_location", str(db._MIGRATIONS))
    assert db._head_revision() == frozenset(ScriptDirectory.from_config(cfg).get_heads())
