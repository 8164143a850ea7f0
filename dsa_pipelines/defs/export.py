"""The ``export`` job: a table of any version to CSV / Parquet / Excel, shaped from the launchpad.

One step: ``Store.export`` with the chosen columns, a row filter (a checked SQL expression,
see ``storage/row_filter.py``) and a compression. The step's output metadata links the
written file (its path, size and row count); bad config — an unknown column, a filter that
is not a plain expression, a codec the format does not offer — fails the run at once with
the store's message, and no file is written.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from dsa_pipelines.defs.failures import store_errors
from dsa_pipelines.defs.resources import StoreResource


class ExportConfig(dg.Config):
    """What to export, and where."""

    dataset: str = Field(description="The dataset.")
    revision: str = Field(default="", description="A branch, tag, commit id prefix, main~1, v3 … (empty: the "
                                                  "default branch).")
    path: str = Field(description="The file to write, as seen by the Dagster process: .csv (.csv.gz, .csv.zst), "
                                  ".parquet, or .xlsx (every table, one sheet each).")
    table: str = Field(default="", description="The table (empty: the only one; for .xlsx: every table).")
    columns: list[str] = Field(default_factory=list, description="Only these columns, in this order (empty: all).")
    where: str = Field(default="", description="Only the rows for which this SQL expression holds, e.g. "
                                               "amount > 100 AND country = 'FR' (empty: every row).")
    compression: str = Field(default="", description="CSV: gzip or zstd; Parquet: zstd (default), snappy, gzip, "
                                                     "lz4, brotli or none.")


@dg.op
def export_table(context: dg.OpExecutionContext, config: ExportConfig, store: StoreResource) -> dg.Output:
    """Write the table (or, for .xlsx, the commit) to the file."""
    opened = store.open()
    with store_errors("export refused"):
        commit = opened.get_commit(config.dataset, config.revision or None)
        path = opened.export(config.dataset, commit.id, config.path, table=config.table or None,
                             columns=config.columns or None, where=config.where or None,
                             compression=config.compression or None)
    size = path.stat().st_size
    context.log.info(f"exported {config.dataset} at {commit.short_id} to {path} ({size:,} bytes)")
    return dg.Output(None, metadata={
        "file": dg.MetadataValue.path(str(path)), "bytes": size, "dataset": config.dataset,
        "commit": commit.id, "table": config.table or "(all)", "columns": ", ".join(config.columns) or "(all)",
        "where": config.where or "(every row)", "compression": config.compression or "(default)",
        "name": Path(path).name})


@dg.job(name="export", tags={"dsa/job": "export"}, executor_def=dg.in_process_executor)
def export_job() -> None:
    """Export a table of any version to CSV, Parquet or Excel — columns, a row filter and compression
    as you choose; the run's output links the written file."""
    export_table()


defs = dg.Definitions(jobs=[export_job])
