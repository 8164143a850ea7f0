"""The code location loads: every job, sensor, schedule and asset check resolves."""

from __future__ import annotations

import dagster as dg

from dsa_pipelines.definitions import FEATURES, defs


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


def test_every_feature_module_exposes_definitions_without_resources() -> None:
    for feature in FEATURES:
        assert isinstance(feature.defs, dg.Definitions), feature.__name__
        assert not feature.defs.resources, f"{feature.__name__} binds resources; definitions.py does that"


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
