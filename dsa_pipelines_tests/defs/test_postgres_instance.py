"""The ingest job on a Dagster instance stored in a real PostgreSQL server.

The instance is built from the shipped ``dagster_postgres.yaml`` as is, with its
``DAGSTER_PG_*`` environment variables pointing at the test server.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.instance import DagsterInstance

from dsa_pipelines.defs import ingest
from dsa_pipelines.defs.audits import DRIFT_CHECK
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.storage import Store

REPO = Path(__file__).resolve().parents[2]


def _point_env_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = sa.make_url(url)
    socket_dir = parsed.query.get("host")
    if socket_dir:  # pgserver listens on a Unix socket: libpq takes its folder from PGHOST
        monkeypatch.setenv("PGHOST", str(socket_dir))
    monkeypatch.setenv("DAGSTER_PG_HOST", parsed.host or "")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(parsed.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_DB", parsed.database)
    monkeypatch.setenv("DAGSTER_PG_USERNAME", parsed.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", parsed.password or "")


def test_shipped_yaml_names_the_psycopg2_driver() -> None:
    config = yaml.safe_load((REPO / "dagster_postgres.yaml").read_text(encoding="utf-8"))
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limits == [{"key": "dsa/branch", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_ingest_on_a_postgres_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       postgres_url_factory: Callable[[], str]) -> None:
    instance_url, catalog_url = postgres_url_factory(), postgres_url_factory()
    _point_env_at(instance_url, monkeypatch)
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path / "no-suites"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_postgres.yaml", home / "dagster.yaml")
    csv = tmp_path / "c.csv"
    pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]}).to_csv(csv, index=False)

    resource = StoreResource(root=str(tmp_path / "store"), catalog_url=catalog_url)
    job = dg.Definitions.merge(ingest.defs, dg.Definitions(resources={"store": resource})).resolve_job_def("ingest")
    instance = DagsterInstance.from_config(str(home))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = job.execute_in_process(
            run_config=ingest.ingest_run_config(ingest.IngestConfig(dataset="people", paths=[str(csv)])),
            instance=instance, tags=ingest.ingest_run_tags("people"))
        assert result.success
        key = instance.get_run_by_id(result.run_id).tags[ingest.COMMIT_TAG]
        assert instance.get_dynamic_partitions("commits")[-1] == key  # after the new dataset's root
        assert instance.get_dynamic_partitions("dataset:people")[-1] == f"v1-{key}"
        check_key = dg.AssetCheckKey(dg.AssetKey("commit"), DRIFT_CHECK)
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=5)
        assert [h.run_id for h in history] == [result.run_id]
    finally:
        instance.dispose()

    engine = sa.create_engine(instance_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select run_id from runs")).scalars().all() == [result.run_id]
    engine.dispose()
    with Store.open(tmp_path / "store", catalog_url) as store:
        assert store.get_commit("people", "main").short_id == key
