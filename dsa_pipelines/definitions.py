"""The one Dagster entry point (``workspace.yaml`` loads this module).

Every module under ``defs/`` is loaded by ``dg.load_from_defs_folder`` (the project is
declared in ``pyproject.toml``'s ``[tool.dg]``): each holds one feature's assets,
checks, jobs, sensors and schedules, and ``defs/resources.py`` binds the store resource.
The assets ``datasets/<name>`` depend on the catalog's contents (:mod:`.defs.datasets`).
"""

from pathlib import Path

import dagster as dg

from dsa_pipelines.defs.datasets import dataset_defs

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load() -> dg.Definitions:
    """Everything in ``dsa_pipelines/defs``, merged."""
    return dg.load_from_defs_folder(path_within_project=PROJECT_ROOT)


@dg.definitions
def defs() -> dg.Definitions:
    """The code location: everything in ``dsa_pipelines/defs``, plus one asset per dataset."""
    return dg.Definitions.merge(load(), dataset_defs())
