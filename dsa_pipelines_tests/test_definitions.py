"""The code location loads: every job, sensor, schedule and asset check resolves."""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

import dsa_pipelines.defs
from dsa_pipelines.definitions import load

defs = load()


def test_definitions_load_and_every_job_sensor_schedule_resolves() -> None:
    dg.Definitions.validate_loadable(defs)
    jobs = {job.name: job for job in defs.resolve_all_job_defs()}
    for name in jobs:
        assert defs.resolve_job_def(name).name == name
    for sensor in defs.sensors or ():
        resolved = defs.resolve_sensor_def(sensor.name)
        assert resolved.name == sensor.name
        for job in resolved.jobs if resolved.has_jobs else ():
            assert job.name in jobs
    for schedule in defs.schedules or ():
        resolved = defs.resolve_schedule_def(schedule.name)
        assert resolved.job_name in jobs


def test_only_the_resources_module_binds_resources() -> None:
    modules = [importlib.import_module(f"dsa_pipelines.defs.{m.name}")
               for m in pkgutil.iter_modules(dsa_pipelines.defs.__path__)]
    with_defs = {m.__name__.rsplit(".", 1)[1]: m.defs for m in modules if isinstance(getattr(m, "defs", None),
                                                                                      dg.Definitions)}
    assert {"ingest", "landing", "sampling", "statistics", "ref_jobs", "resources"} <= set(with_defs)
    assert {name for name, d in with_defs.items() if d.resources} == {"resources"}
    assert set(with_defs["resources"].resources) == {"store"}


def test_ingest_surface() -> None:
    job = defs.resolve_job_def("ingest")
    assert [node.name for node in job.graph.nodes_in_topological_order] == [
        "stage_upload", "audit_commit", "publish_commit"]
    assert job.description and "audit" in job.description
    config_fields = job.run_config_schema.config_type.fields["ops"].config_type.fields["stage_upload"]
    fields = config_fields.config_type.fields["config"].config_type.fields
    assert {"dataset", "paths", "branch", "message", "author", "table", "sheets", "replace",
            "create_dataset_if_missing"} <= set(fields)
    assert all(field.description for field in fields.values())
    graph = defs.resolve_asset_graph()
    assert {dg.AssetKey("commit"), dg.AssetKey("commit_schema")} <= graph.get_all_asset_keys()
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == dg.AssetKey("commit")}
    assert {"schema_drift", "expectations"} <= checks
    assert "store" in defs.resources
