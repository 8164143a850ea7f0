"""The one Dagster entry point (``workspace.yaml`` loads this module).

Each feature module under ``defs/`` exposes ``defs: dg.Definitions`` holding its
assets, checks, jobs, sensors and schedules; here they are merged and the shared
resources are bound once.
"""

import dagster as dg

from dsa_pipelines.defs import changes, commit_sensors, ingest, landing, ref_jobs, sampling, statistics
from dsa_pipelines.defs.resources import store_resource

FEATURES = [ingest, sampling, statistics, landing, commit_sensors, ref_jobs, changes]

defs = dg.Definitions.merge(
    *(feature.defs for feature in FEATURES),
    dg.Definitions(resources={"store": store_resource()}),
)
