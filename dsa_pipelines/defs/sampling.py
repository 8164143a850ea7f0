"""Sampling from the launchpad: draw a multi-round sample, and look at a table's columns first.

``sample`` draws one or more rounds (random, stratified, systematic, weighted) from a
dataset version; every round becomes a commit on branch ``samples/<name>`` and a
``commits`` partition. ``sample_columns`` shows a table's columns (type, nulls, distinct
values) so you can pick strata, weight and filter columns. Both call the storage core
(:mod:`dsa_pipelines.storage.sampling`); a bad option fails the run with the core's
message and writes nothing.
"""

import dataclasses
import typing
from typing import Literal

import dagster as dg
import pydantic
from pydantic import Field

from dsa_pipelines.defs.failures import store_errors
from dsa_pipelines.defs.partitions import commits_partitions, partition_key
from dsa_pipelines.defs.resources import StoreResource
from dsa_pipelines.sampling import SampleRound, SampleSpec, draw_sample, sample_columns

REVISION_HELP = "a branch, a tag, a commit id prefix, main~2, v3 or main@{2026-11-20T10:00}"


# ---------------------------------------------------------------------------- sample
def _round_config() -> type[dg.Config]:
    """The launchpad's round config, made from :class:`SampleRound`'s own fields and descriptions."""
    choices = {"method": Literal["random", "stratified", "systematic", "weighted"],
               "allocation": Literal["proportional", "fixed"], "strata": list[str]}
    hints = typing.get_type_hints(SampleRound)
    fields = {
        f.name: (choices.get(f.name, hints[f.name]), Field(default=list(f.default) if f.name == "strata" else f.default,
                                                    description=f.metadata["help"]))
        for f in dataclasses.fields(SampleRound)
    }
    return pydantic.create_model("SampleRoundConfig", __base__=dg.Config, __doc__=SampleRound.__doc__.split("\n\n")[0],
                                 **fields)


SampleRoundConfig = _round_config()


def _to_round(config: dg.Config) -> SampleRound:
    values = config.model_dump()
    return SampleRound(**{**values, "strata": tuple(values["strata"])})


class SampleConfig(dg.Config):
    """A sample to draw, or more rounds of an existing sample (same name, same source)."""

    dataset: str = Field(description="The dataset.")
    name: str = Field(description="The sample's name; its rounds become commits on branch samples/<name>. A name "
                                  "that exists continues that sample (only from the same source commit).")
    revision: str = Field(default="", description=f"The version to draw from: {REVISION_HELP}. Empty: the default "
                                                  "branch's head. Resolved to a commit once; recorded.")
    table: str = Field(default="", description="The table to draw from (empty: the commit's only table).")
    seed: int = Field(default=0, description="Seed of every random choice: the same source, rounds and seed "
                                             "always draw the same rows.")
    rounds: list[SampleRoundConfig] = Field(description="The rounds, in order. A round never draws a row an "
                                                        "earlier round of this sample drew.")
    exclude_samples: list[str] = Field(default=[], description="Other samples of the same source whose rows are "
                                                               "not eligible either.")
    allow_smaller: bool = Field(default=False, description="If a round asks for more rows than are eligible, draw "
                                                           "them all and record a warning instead of failing.")
    author: str = Field(default="dagster", description="Who draws (commit author, sampling record).")


@dg.op(name="draw_sample", out=dg.Out(dg.Nothing))
def sample_op(context: dg.OpExecutionContext, config: SampleConfig, store: StoreResource) -> dg.Output:
    """Draw the rounds, commit each on samples/<name>, register the commits as partitions."""
    spec = SampleSpec(
        dataset=config.dataset, name=config.name, rounds=tuple(_to_round(r) for r in config.rounds),
        source_revision=config.revision or None, table=config.table or None, seed=config.seed,
        exclude_samples=tuple(config.exclude_samples), allow_smaller=config.allow_smaller, author=config.author,
        run_id=context.run_id)
    with store_errors():
        result = draw_sample(store.open(), spec)
    keys = [partition_key(c) for c in result.commits]
    context.instance.add_dynamic_partitions(commits_partitions.name, keys)
    context.instance.add_run_tags(context.run_id, {"dsa/dataset": result.dataset, "dsa/sample": result.name,
                                                   "dsa/ref": result.branch, "dsa/new": keys[-1]})
    for warning in result.warnings:
        context.log.warning(warning)
    rounds = dg.MetadataValue.table(
        records=[dg.TableRecord({
            "round": r.round, "method": r.method, "requested": r.requested, "drawn": r.drawn,
            "eligible": r.eligible, "residual": r.residual, "commit": partition_key(r.commit_id)})
            for r in result.rounds],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("round", "int"), dg.TableColumn("method", "string"),
            dg.TableColumn("requested", "int"), dg.TableColumn("drawn", "int"),
            dg.TableColumn("eligible", "int", description="rows the round could draw from"),
            dg.TableColumn("residual", "int", description="rows left undrawn after the round"),
            dg.TableColumn("commit", "string", description="the round's commit (a commits partition)")]))
    return dg.Output(None, metadata={
        "dataset": result.dataset, "sample": result.name, "branch": result.branch,
        "source_commit": partition_key(result.source_commit), "table": result.table, "seed": result.seed,
        "rounds": rounds, "drawn_rows": sum(r.drawn for r in result.rounds),
        "residual_rows": result.rounds[-1].residual, "commits": ", ".join(keys),
        "warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings) or "none"),
        "sampling_run": result.run_id,
        "details": dg.MetadataValue.json({str(r.round): r.details for r in result.rounds}),
    })


@dg.job(name="sample", tags={"dsa/kind": "sample"})
def sample_job() -> None:
    """Draw a multi-round sample (random, stratified, systematic, weighted) from a dataset version.

    Each round draws only rows no earlier round of the sample drew, and becomes a commit on
    branch samples/<name> holding <table> (this round's rows) and <table>__all_rounds (all
    rounds so far) — no data is copied. Run sample_columns first to see the columns.
    """
    sample_op()


# ---------------------------------------------------------------------- sample_columns
class SampleColumnsConfig(dg.Config):
    """The table whose columns to show."""

    dataset: str = Field(description="The dataset.")
    revision: str = Field(default="", description=f"The version: {REVISION_HELP}. Empty: the default branch's head.")
    table: str = Field(default="", description="The table (empty: the commit's only table).")
    max_distinct: int = Field(default=50, description="List the values of columns with at most this many "
                                                      "distinct values.")


@dg.op(name="describe_sample_columns", out=dg.Out(dg.Nothing))
def sample_columns_op(context: dg.OpExecutionContext, config: SampleColumnsConfig,
                      store: StoreResource) -> dg.Output:
    """Show every column with type, nulls, distinct count and (few) distinct values."""
    s = store.open()
    with store_errors():
        commit = s.get_commit(config.dataset, config.revision or None)
        columns = sample_columns(s, config.dataset, commit.id, config.table or None, config.max_distinct)
    table = dg.MetadataValue.table(
        records=[dg.TableRecord({
            "column": c.name, "type": c.type, "nullable": c.nullable, "nulls": c.nulls,
            "distinct": c.distinct if c.distinct is not None else -1,
            "values": ", ".join(map(str, c.values)) if c.values is not None else "",
            "use as": ", ".join(c.uses)}) for c in columns],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("column", "string"), dg.TableColumn("type", "string"),
            dg.TableColumn("nullable", "bool"), dg.TableColumn("nulls", "int"),
            dg.TableColumn("distinct", "int", description="distinct non-null values (-1: not countable)"),
            dg.TableColumn("values", "string", description=f"the values, if at most {config.max_distinct}"),
            dg.TableColumn("use as", "string", description="strata, order_by, weight, filter")]))
    context.log.info(f"{len(columns)} columns of {config.dataset} at {commit.short_id}")
    return dg.Output(None, metadata={
        "dataset": config.dataset, "commit": commit.short_id, "columns": table,
        "strata_candidates": ", ".join(c.name for c in columns if c.values is not None and "strata" in c.uses),
        "weight_candidates": ", ".join(c.name for c in columns if "weight" in c.uses),
    })


@dg.job(name="sample_columns", tags={"dsa/kind": "sample"})
def sample_columns_job() -> None:
    """Show a table's columns for configuring a sample: types, nullability, distinct counts and, for
    low-cardinality columns, the values (candidates for strata and filters)."""
    sample_columns_op()


defs = dg.Definitions(jobs=[sample_job, sample_columns_job])
