"""What a sample asks for: :class:`SampleSpec` with its :class:`SampleRound` s, and their validation.

Validation happens in two steps, both before anything is drawn or written:
:func:`check_spec` checks what needs no data (names, methods, sizes, fractions), and
:func:`bind_rounds` checks every round against the source table's schema (known
columns, numeric weights, filters that parse and type-check).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import pyarrow as pa

from dsa_pipelines.storage import InvalidInput, validate_ref_name, validate_table_name

from .filters import Filter, column_kind, parse_filter

METHODS = ("random", "stratified", "systematic", "weighted")
ALLOCATIONS = ("proportional", "fixed")
BRANCH_PREFIX = "samples/"
UNION_SUFFIX = "__all_rounds"
MAX_SEED = 2**63 - 1


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class SampleRound:
    """One round of a sample. Give exactly one size: ``size`` or ``fraction`` (``systematic``:
    or ``step``; ``stratified`` with ``allocation="fixed"``: ``per_stratum``).

    Each field's ``metadata["help"]`` is its user-facing description (the Dagster
    launchpad's round config is built from these fields, so they exist once).
    """

    method: str = field(default="random", metadata=_help(
        "random: simple random without replacement; stratified: by the strata columns; systematic: every k-th "
        "row in an order from a random start; weighted: probability proportional to the weight column, without "
        "replacement."))
    size: int | None = field(default=None, metadata=_help("Rows to draw."))
    fraction: float | None = field(default=None, metadata=_help(
        "Rows to draw as a fraction of the eligible rows, in (0, 1]."))
    filter: str = field(default="", metadata=_help(
        "Only rows matching this predicate are eligible, e.g. amount > 1000 and country in ('DE','FR'); "
        "status = 'open'; x is null."))
    strata: tuple[str, ...] = field(default=(), metadata=_help(
        "stratified: the column(s) whose value combinations form the strata."))
    allocation: str = field(default="proportional", metadata=_help(
        "stratified: proportional (size split by stratum size, largest remainder) or fixed (per_stratum rows "
        "from every stratum)."))
    per_stratum: int | None = field(default=None, metadata=_help("stratified, fixed allocation: rows per stratum."))
    min_per_stratum: int = field(default=0, metadata=_help(
        "stratified: at least this many rows from every stratum (a stratum with fewer eligible rows is an "
        "error)."))
    order_by: str | None = field(default=None, metadata=_help(
        "systematic: the column giving the order (default: logical row id, i.e. upload order)."))
    step: int | None = field(default=None, metadata=_help("systematic: take every step-th row (instead of a size)."))
    weight: str | None = field(default=None, metadata=_help("weighted: numeric column of non-negative weights."))

    def to_json(self) -> dict:
        """The round as plain JSON values (recorded with every run)."""
        out = asdict(self)
        out["strata"] = list(self.strata)
        return out


@dataclass(frozen=True)
class SampleSpec:
    """A sample to draw (or to continue with more rounds).

    Attributes:
        dataset: The dataset.
        name: The sample's name; its rounds are commits on branch ``samples/<name>``.
        rounds: The rounds to draw, in order.
        source_revision: The revision the sample draws from (resolved to a commit).
        table: The source table (default: the commit's only table).
        seed: Seed of every random choice (0 .. 2**63-1).
        exclude_samples: Other samples of the same source commit and table whose
            drawn rows are not eligible either.
        allow_smaller: When a round asks for more rows than are eligible, draw all
            eligible rows and record a warning instead of failing.
        author: Who draws (commit author, run record).
        run_id: The Dagster run id, if a run draws the sample.
    """

    dataset: str
    name: str
    rounds: tuple[SampleRound, ...]
    source_revision: str | None = None
    table: str | None = None
    seed: int = 0
    exclude_samples: tuple[str, ...] = ()
    allow_smaller: bool = False
    author: str = ""
    run_id: str | None = field(default=None, compare=False)

    @property
    def branch(self) -> str:
        """The sample's branch, ``samples/<name>``."""
        return BRANCH_PREFIX + self.name

    def to_json(self) -> dict:
        """The spec as plain JSON values (the run record's parameters)."""
        return {
            "dataset": self.dataset, "name": self.name, "source_revision": self.source_revision,
            "table": self.table, "seed": self.seed, "exclude_samples": list(self.exclude_samples),
            "allow_smaller": self.allow_smaller, "author": self.author,
            "rounds": [r.to_json() for r in self.rounds],
        }


@dataclass(frozen=True)
class BoundRound:
    """A round checked against the source schema, with its parsed filter."""

    number: int  # 1-based round number within the sample
    spec: SampleRound
    filter: Filter | None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every source column the round reads."""
        cols = list(self.filter.columns if self.filter else ())
        cols += list(self.spec.strata)
        cols += [c for c in (self.spec.order_by, self.spec.weight) if c]
        return tuple(dict.fromkeys(cols))


def _bad(round_no: int, problem: str, **fields: object) -> InvalidInput:
    return InvalidInput(f"round {round_no}: {problem}", round=round_no, **fields)


def _positive_int(round_no: int, name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise _bad(round_no, f"{name} must be a whole number of at least 1, got {value!r}", option=name)


def _check_round(i: int, r: SampleRound) -> None:
    if r.method not in METHODS:
        raise _bad(i, f"unknown method {r.method!r}; choose one of {', '.join(METHODS)}", option="method")
    _positive_int(i, "size", r.size)
    _positive_int(i, "per_stratum", r.per_stratum)
    _positive_int(i, "step", r.step)
    if r.fraction is not None:
        if isinstance(r.fraction, bool) or not isinstance(r.fraction, (int, float)) or math.isnan(r.fraction) \
                or not 0 < r.fraction <= 1:
            raise _bad(i, f"fraction must be in (0, 1], got {r.fraction!r}", option="fraction")
    if isinstance(r.min_per_stratum, bool) or not isinstance(r.min_per_stratum, int) or r.min_per_stratum < 0:
        raise _bad(i, f"min_per_stratum must be a whole number of at least 0, got {r.min_per_stratum!r}",
                   option="min_per_stratum")
    if r.allocation not in ALLOCATIONS:
        raise _bad(i, f"unknown allocation {r.allocation!r}; choose {' or '.join(ALLOCATIONS)}", option="allocation")
    sizes = [n for n in ("size", "fraction", "step", "per_stratum") if getattr(r, n) is not None]
    allowed = {"random": {"size", "fraction"}, "weighted": {"size", "fraction"},
               "systematic": {"size", "fraction", "step"},
               "stratified": {"per_stratum"} if r.allocation == "fixed" else {"size", "fraction"}}[r.method]
    wrong = [n for n in sizes if n not in allowed]
    if wrong or len(sizes) != 1:
        how = " or ".join(sorted(allowed))
        extra = f" (allocation={r.allocation!r})" if r.method == "stratified" else ""
        raise _bad(i, f"method {r.method!r}{extra} needs exactly one of {how}; got {', '.join(sizes) or 'none'}",
                   option=(wrong or sizes or ["size"])[0])
    if r.method == "stratified":
        if not r.strata:
            raise _bad(i, "a stratified round needs strata (one or more columns)", option="strata")
    else:
        for opt, val in (("strata", r.strata), ("min_per_stratum", r.min_per_stratum)):
            if val:
                raise _bad(i, f"{opt} applies to stratified rounds only", option=opt)
    if r.method != "weighted" and r.weight:
        raise _bad(i, "weight applies to weighted rounds only", option="weight")
    if r.method == "weighted" and not r.weight:
        raise _bad(i, "a weighted round needs a weight column", option="weight")
    if r.method != "systematic" and r.order_by:
        raise _bad(i, "order_by applies to systematic rounds only", option="order_by")


def check_spec(spec: SampleSpec) -> None:
    """Check what needs no data: names, seed, methods, sizes and fractions of every round.

    Raises:
        InvalidInput, InvalidName: naming the round and option.
    """
    if not isinstance(spec.name, str) or not spec.name:
        raise InvalidInput("a sample needs a name", option="name")
    validate_ref_name(spec.branch, "branch")
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int) or not 0 <= spec.seed <= MAX_SEED:
        raise InvalidInput(f"seed must be a whole number in 0..2**63-1, got {spec.seed!r}", option="seed")
    if not spec.rounds:
        raise InvalidInput(f"sample {spec.name!r} has no rounds; give at least one", option="rounds")
    if spec.name in spec.exclude_samples:
        raise InvalidInput(f"sample {spec.name!r} cannot exclude itself (its earlier rounds are always excluded)",
                           option="exclude_samples")
    for i, r in enumerate(spec.rounds, start=1):
        _check_round(i, r)


def bind_rounds(spec: SampleSpec, schema: pa.Schema, table: str, first_round: int) -> list[BoundRound]:
    """Check every round against the source table and parse its filter.

    Args:
        spec: The (already :func:`check_spec`-ed) spec.
        schema: The source table's Arrow schema.
        table: The source table's name.
        first_round: The number of the spec's first round (1, or more when continuing).

    Raises:
        InvalidInput: an unknown column, a non-numeric weight, a filter that does not
            parse or type-check.
    """
    validate_table_name(table + UNION_SUFFIX)
    out: list[BoundRound] = []
    for offset, r in enumerate(spec.rounds):
        i = first_round + offset
        for opt, cols in (("strata", r.strata), ("order_by", [r.order_by] if r.order_by else []),
                          ("weight", [r.weight] if r.weight else [])):
            for col in cols:
                if col not in schema.names:
                    raise _bad(i, f"unknown column {col!r} in {opt} (table {table!r} has {', '.join(schema.names)})",
                               option=opt, column=col)
        if r.weight and column_kind(schema.field(r.weight).type) != "number":
            raise _bad(i, f"weight column {r.weight!r} is {schema.field(r.weight).type}, not numeric",
                       option="weight", column=r.weight)
        for opt, col in (("order_by", r.order_by), *(("strata", c) for c in r.strata)):
            dtype = schema.field(col).type if col else None
            if dtype is not None and (pa.types.is_nested(dtype) or pa.types.is_binary(dtype)):
                raise _bad(i, f"column {col!r} ({dtype}) cannot be used in {opt}", option=opt, column=col)
        try:
            flt = parse_filter(r.filter, schema) if r.filter.strip() else None
        except InvalidInput as e:
            raise _bad(i, e.message, option="filter", **e.fields) from None
        out.append(BoundRound(i, r, flt))
    return out
