"""The run queue of ``dagster.yaml``: Dagster's queued run coordinator, plus the per-branch tag.

``dagster.yaml`` allows one queued run at a time per value of the tag ``dsa/branch``
(``<dataset>/<branch>``). The sensors and the demo set it; a run launched from the
launchpad has only its run config. :class:`BranchQueuedRunCoordinator` reads the dataset
and branch from an ``ingest`` run's config when the run is submitted, and adds the tag
before the run enters the queue, so hand-launched ingests queue per branch like the others.
A tag already on the run is kept.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from dagster._core.run_coordinator import SubmitRunContext

from dsa_pipelines.defs.ingest import BRANCH_TAG, ingest_job, ingest_run_tags


def branch_tags(job_name: str, run_config: Mapping | None) -> dict[str, str]:
    """The ``dsa/branch`` tag an ``ingest`` run with this config should carry (empty: none)."""
    if job_name != ingest_job.name:
        return {}
    config = ((run_config or {}).get("ops", {}).get("stage_upload", {}) or {}).get("config") or {}
    dataset = config.get("dataset")
    if not isinstance(dataset, str) or not dataset:
        return {}
    branch = config.get("branch") or "main"
    return ingest_run_tags(dataset, branch) if isinstance(branch, str) else {}


class BranchQueuedRunCoordinator(dg.QueuedRunCoordinator):
    """Queued runs, with ``dsa/branch`` derived from an ``ingest`` run's config when it is missing."""

    def submit_run(self, context: SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        tags = branch_tags(run.job_name, run.run_config)
        if tags and BRANCH_TAG not in run.tags:
            self._instance.add_run_tags(run.run_id, tags)
            run = self._instance.get_run_by_id(run.run_id) or run
            context = SubmitRunContext(run, context.workspace)
        return super().submit_run(context)
