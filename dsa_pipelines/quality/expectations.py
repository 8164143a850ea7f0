"""Expectation suites: a dataset's data-quality audit, run with Great Expectations 1.x.

A dataset's suite is the JSON file ``<root>/<dataset>.json`` where ``root`` is
``$DSA_EXPECTATIONS_DIR`` or ``data/expectations`` (see ``docs/expectations.md``)::

    {
      "name": "customers",
      "tables": {
        "customers": [
          {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "customer_id"}}
        ]
      },
      "expectations": []
    }

``tables`` maps a table name to the expectations for that table; the optional
top-level ``expectations`` apply to every table of the commit. Each expectation is a
Great Expectations 1.x expectation configuration (``type``, ``kwargs``, optional
``meta``/``notes``/``description``/``severity``). A suite is checked completely when loaded: unreadable
JSON, an unknown expectation type or bad arguments raise ``InvalidInput`` naming the
file.

Validation runs GE 1.x directly (``dagster-ge`` does not support 1.x) in an ephemeral
context over each table's rows as a pandas DataFrame, ``result_format="SUMMARY"``.
Tables larger than ``max_rows`` (``$DSA_EXPECTATIONS_MAX_ROWS``, default 1,000,000) are
validated on their first ``max_rows`` rows and the result says so (``capped``): row-wise
expectations hold for the rows seen, and a uniqueness expectation cannot see a
duplicate pair split across the cap.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsa_pipelines import settings
from dsa_pipelines.storage import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from dsa_pipelines.storage import Store

DEFAULT_ROOT = "data/expectations"
DEFAULT_MAX_ROWS = 1_000_000
EXAMPLES_SHOWN = 5
_SUITE_KEYS = {"name", "tables", "expectations", "meta", "notes", "id"}
_EXPECTATION_KEYS = {"type", "kwargs", "meta", "notes", "description", "severity", "rendered_content", "id"}


@dataclass(frozen=True)
class Suite:
    """A loaded, checked expectation suite.

    Attributes:
        path: The file it came from.
        name: The suite's name (default: the file stem).
        tables: Expectation configurations per table name.
        every_table: Expectation configurations applied to every table.
    """

    path: Path
    name: str
    tables: dict[str, tuple[dict, ...]] = field(hash=False)
    every_table: tuple[dict, ...] = ()

    def for_table(self, table: str) -> tuple[dict, ...]:
        """The expectations that apply to a table."""
        return self.every_table + self.tables.get(table, ())


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation on one table.

    Attributes:
        type: The expectation type, e.g. ``expect_column_values_to_not_be_null``.
        column: The column it is about, if any.
        kwargs: Its arguments (JSON-ready).
        success: Whether it held.
        unexpected_count: How many values broke it (None for table-level expectations).
        unexpected_percent: The same as a percentage of the values checked.
        examples: A few values that broke it, as text.
        error: The exception GE reported instead of a result (e.g. a missing column).
    """

    type: str
    column: str | None
    kwargs: dict
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class TableValidation:
    """The outcomes of a suite on one table of a commit.

    Attributes:
        table: The table.
        rows: The table's row count.
        rows_checked: Rows validated (less than ``rows`` when capped).
        outcomes: One per expectation, in suite order.
    """

    table: str
    rows: int
    rows_checked: int
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def capped(self) -> bool:
        """Whether only the first ``rows_checked`` rows were validated."""
        return self.rows_checked < self.rows

    @property
    def success(self) -> bool:
        """Whether every expectation held."""
        return all(o.success for o in self.outcomes)


@dataclass(frozen=True)
class SuiteValidation:
    """The outcome of a dataset's suite on a commit.

    Attributes:
        suite: The suite file, or None when the dataset has none (then it passes).
        tables: The validated tables.
        missing_tables: Tables the suite names that the commit does not hold.
    """

    suite: Path | None
    tables: tuple[TableValidation, ...] = ()
    missing_tables: tuple[str, ...] = ()

    @property
    def success(self) -> bool:
        """Whether every expectation on every table held (true when there is no suite)."""
        return all(t.success for t in self.tables)

    @property
    def evaluated(self) -> int:
        """How many expectations ran."""
        return sum(len(t.outcomes) for t in self.tables)

    @property
    def failures(self) -> list[tuple[str, ExpectationOutcome]]:
        """(table, outcome) for every expectation that did not hold."""
        return [(t.table, o) for t in self.tables for o in t.outcomes if not o.success]

    def markdown(self) -> str:
        """A readable summary: counts, then one row per failed expectation with examples."""
        if self.suite is None:
            return "No expectation suite for this dataset: nothing to check."
        lines = [f"Suite `{self.suite.name}`: {self.evaluated - len(self.failures)} of {self.evaluated} "
                 f"expectation(s) held on {len(self.tables)} table(s)."]
        lines += [f"- table `{t.table}`: validated the first {t.rows_checked:,} of {t.rows:,} rows (row cap)"
                  for t in self.tables if t.capped]
        lines += [f"- table `{name}` is named by the suite but absent from the commit" for name in self.missing_tables]
        if self.failures:
            lines += ["", "| table | expectation | column | unexpected | examples |", "|---|---|---|---|---|"]
            for table, o in self.failures:
                if o.error:
                    bad = f"error: {o.error}"
                else:
                    bad = "" if o.unexpected_count is None else f"{o.unexpected_count:,} ({o.unexpected_percent:.1f}%)"
                examples = ", ".join(f"`{e}`" for e in o.examples)
                lines.append(f"| {table} | {o.type} | {o.column or ''} | {bad} | {examples} |")
        return "\n".join(lines)


# ------------------------------------------------------------------------ loading


def suite_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding suites: ``root``, else ``$DSA_EXPECTATIONS_DIR``, else ``data/expectations``."""
    return Path(root or settings.current().expectations_dir)


def suite_path(dataset: str, root: str | os.PathLike | None = None) -> Path:
    """Where a dataset's suite lives: ``<root>/<dataset>.json``."""
    return suite_root(root) / f"{dataset}.json"


def _check_expectation(path: Path, where: str, config: Any) -> dict:
    from great_expectations.expectations.expectation_configuration import (  # noqa: PLC0415 - slow import
        ExpectationConfiguration,
    )

    if not isinstance(config, Mapping) or not isinstance(config.get("type"), str):
        raise InvalidInput(f"{path}: {where} must be an object with a string \"type\"", path=str(path))
    unknown = set(config) - _EXPECTATION_KEYS
    if unknown:
        raise InvalidInput(f"{path}: {where} has unknown key(s) {sorted(unknown)}", path=str(path))
    if not isinstance(config.get("kwargs", {}), Mapping):
        raise InvalidInput(f"{path}: {where} \"kwargs\" must be an object", path=str(path))
    try:
        ExpectationConfiguration(**config).to_domain_obj()
    except Exception as e:  # GE raises its own errors and pydantic's for bad arguments
        detail = " ".join(str(e).split())
        raise InvalidInput(f"{path}: {where} ({config['type']}) is not a valid expectation: {detail}",
                           path=str(path), expectation=config["type"]) from e
    return dict(config)


def _expectation_list(path: Path, where: str, value: Any) -> tuple[dict, ...]:
    if not isinstance(value, list):
        raise InvalidInput(f"{path}: {where} must be a list of expectations", path=str(path))
    return tuple(_check_expectation(path, f"{where}[{i}]", item) for i, item in enumerate(value))


def load_suite(path: str | os.PathLike) -> Suite:
    """Read and check a suite file.

    Args:
        path: The JSON file.

    Returns:
        The suite; every expectation was built once with Great Expectations, so a
        suite that loads can run.

    Raises:
        InvalidInput: the file is missing or unreadable, not JSON, not of the suite
            shape, or holds an unknown expectation type or bad arguments (the message
            names the file and the expectation).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot read expectation suite {path}: {e.strerror or e}", path=str(path)) from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"expectation suite {path} is not valid JSON: {e}", path=str(path)) from e
    if not isinstance(data, dict):
        raise InvalidInput(f"expectation suite {path} must hold a JSON object", path=str(path))
    unknown = set(data) - _SUITE_KEYS
    if unknown:
        raise InvalidInput(f"expectation suite {path} has unknown key(s) {sorted(unknown)}", path=str(path))
    tables = data.get("tables", {})
    if not isinstance(tables, dict):
        raise InvalidInput(f"{path}: \"tables\" must map table names to lists of expectations", path=str(path))
    return Suite(
        path=path,
        name=str(data.get("name") or path.stem),
        tables={name: _expectation_list(path, f"tables.{name}", items) for name, items in tables.items()},
        every_table=_expectation_list(path, "expectations", data.get("expectations", [])),
    )


def find_suite(dataset: str, root: str | os.PathLike | None = None) -> Suite | None:
    """A dataset's suite, or None if it has no suite file (see :func:`suite_path`)."""
    path = suite_path(dataset, root)
    return load_suite(path) if path.exists() else None


# ---------------------------------------------------------------------- validation


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    return str(value)


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    summary = result.result or {}
    info = result.exception_info or {}
    # GE gives one {raised_exception, exception_message} or a mapping of them per metric.
    raised = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    messages = [str(r.get("exception_message", "")) for r in raised if r.get("raised_exception")]
    error = " ".join(messages[0].split())[:300] if messages else None
    percent = summary.get("unexpected_percent")
    return ExpectationOutcome(
        type=config.type,
        column=kwargs.get("column"),
        kwargs=json.loads(json.dumps(kwargs, default=str)),
        success=bool(result.success),
        unexpected_count=summary.get("unexpected_count"),
        unexpected_percent=None if percent is None else float(percent),
        examples=tuple(_text(v) for v in (summary.get("partial_unexpected_list") or [])[:EXAMPLES_SHOWN]),
        error=error,
    )


def validate_frame(expectations: Sequence[Mapping], frame: pd.DataFrame) -> tuple[ExpectationOutcome, ...]:
    """Run expectation configurations over a DataFrame with Great Expectations 1.x.

    Args:
        expectations: Expectation configurations (``type``, ``kwargs``, ...).
        frame: The rows.

    Returns:
        One outcome per expectation, in order.
    """
    if not expectations:
        return ()
    import great_expectations as gx  # noqa: PLC0415 - slow import, only when validating
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: PLC0415
    from great_expectations.expectations.expectation_configuration import (  # noqa: PLC0415
        ExpectationConfiguration,
    )

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = context.data_sources.add_pandas("dsa").add_dataframe_asset("table").add_batch_definition_whole_dataframe(
        "all")
    suite = gx.ExpectationSuite(
        name="suite", expectations=[ExpectationConfiguration(**dict(e)).to_domain_obj() for e in expectations])
    suite = context.suites.add(suite)
    run = context.validation_definitions.add(gx.ValidationDefinition(name="validation", data=batch, suite=suite))
    result = run.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    by_id = {r.expectation_config.id: r for r in result.results}
    return tuple(_outcome(by_id[e.id]) for e in suite.expectations)


def max_rows_default() -> int:
    """The row cap: ``$DSA_EXPECTATIONS_MAX_ROWS`` or 1,000,000."""
    return settings.current().expectations_max_rows


def validate_commit(store: Store, dataset: str, revision: str, suite: Suite | None,
                    max_rows: int | None = None) -> SuiteValidation:
    """Run a suite over every table of a commit that it has expectations for.

    Args:
        store: The store.
        dataset: The dataset.
        revision: The commit (any revision).
        suite: The suite (None: nothing to check, the validation passes).
        max_rows: Validate at most this many rows per table (default:
            :func:`max_rows_default`).

    Returns:
        The validation; ``success`` is False when any expectation failed.
    """
    if suite is None:
        return SuiteValidation(None)
    cap = max_rows or max_rows_default()
    commit = store.get_commit(dataset, revision)
    validated = []
    for name, info in commit.tables.items():
        expectations = suite.for_table(name)
        if not expectations:
            continue
        page = store.read_table(dataset, commit.id, name, limit=cap)
        outcomes = validate_frame(expectations, page.table.to_pandas())
        validated.append(TableValidation(name, info.row_count, page.table.num_rows, outcomes))
    missing = tuple(sorted(set(suite.tables) - set(commit.tables)))
    return SuiteValidation(suite.path, tuple(validated), missing)
