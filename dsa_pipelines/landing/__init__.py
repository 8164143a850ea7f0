"""The landing folder: a drop-a-file interface to ingestion (no dagster imports here).

:mod:`.convention` says what a dropped file's path means; :mod:`.folder` scans the folder
for stable files and moves them through processing to the archive or quarantine. The
Dagster sensors that drive them are in :mod:`dsa_pipelines.defs.landing`.
"""
