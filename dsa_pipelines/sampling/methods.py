"""The four sampling methods over a commit's rows: DuckDB for filters, orderings and top-n,
vectorised numpy for per-stratum selection. No Python loop over rows.

Randomness never comes from a generator's state: every row gets a uniform key
``u = splitmix64(row id, stream)`` where the stream is derived from the sample's seed
and the round number. The same source commit, seed and round therefore always give
the same keys, on every machine and DuckDB version, and a row's key does not depend on
which other rows are eligible.

- ``random``: the ``n`` eligible rows with the smallest keys (a simple random sample
  without replacement).
- ``weighted``: Efraimidis–Spirakis: the ``n`` rows with the largest ``u ** (1 / w)``
  (computed as ``ln(u) / w``), a weighted sample without replacement.
- ``stratified``: rows grouped by the strata columns (null is a stratum of its own);
  within a stratum, the rows with the smallest keys.
- ``systematic``: eligible rows in the stated order, then every k-th from a random
  start in ``[0, k)``; for a size ``n`` the interval is ``k = N / n`` (fractional, so
  exactly ``n`` rows), for a ``step`` it is the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dsa_pipelines.storage import InvalidInput
from dsa_pipelines.storage.extension import duckdb_connect

from .filters import quote_identifier, render_sql
from .spec import BoundRound

RID = "__dsa_rid"
KEY = "__dsa_u"
AVAIL = "__dsa_avail"
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
MAX_RECORDED_STRATA = 100
_EXAMPLES = 5


def _mix(x: int) -> int:
    """splitmix64's finaliser on a Python int (64-bit wrap-around)."""
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def round_stream(seed: int, round_no: int) -> int:
    """The 64-bit stream of a round: a function of the seed and the round number only."""
    return _mix(_mix(seed & _MASK) ^ round_no)


def uniform_keys(row_ids: np.ndarray, stream: int) -> np.ndarray:
    """Uniform keys in (0, 1), one per row id: splitmix64(row id * golden + stream), vectorised."""
    z = row_ids.astype(np.uint64) * np.uint64(_GOLDEN) + np.uint64(stream)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def unit_from_stream(stream: int) -> float:
    """One uniform value in [0, 1) from a stream (e.g. a systematic sample's start)."""
    return (_mix(stream ^ 0x5851F42D4C957F2D) >> 11) * 2.0**-53


@dataclass(frozen=True)
class Draw:
    """What one round drew: sorted logical row ids and the counts behind them."""

    row_ids: np.ndarray = field(repr=False)
    requested: int
    eligible: int
    details: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class Population:
    """A commit table's rows (only the columns the rounds need) registered in DuckDB.

    Args:
        data: The needed columns in logical row order, or None when no round reads a column.
        row_count: The table's row count.
    """

    def __init__(self, data: pa.Table | None, row_count: int) -> None:
        rid = pa.array(np.arange(row_count, dtype=np.int64))
        self.base = data.append_column(RID, rid) if data is not None and data.num_columns else pa.table({RID: rid})
        self.row_count = row_count
        self.con = duckdb_connect()
        self._codes: dict[tuple[str, ...], np.ndarray] = {}

    def codes(self, columns: tuple[str, ...]) -> np.ndarray:
        """A stratum code per row (below ``max(4 * rows, 2**20)``) for a combination of columns.

        Null is a value of its own. Codes combine per-column value indexes (Arrow
        ``index_in``) in mixed radix, made dense with ``np.unique`` only when they grow large.
        """
        if columns not in self._codes:
            limit = max(4 * self.row_count, 1 << 20)
            code, radix = np.zeros(self.row_count, dtype=np.int64), 1
            for name in columns:
                col = self.base.column(name)
                values = pc.unique(col)
                index = pc.index_in(col, value_set=values, skip_nulls=False).fill_null(len(values))
                code = code * (len(values) + 1) + index.to_numpy().astype(np.int64)
                radix *= len(values) + 1
                if radix > limit:
                    uniq, inverse = np.unique(code, return_inverse=True)
                    code, radix = inverse.astype(np.int64).reshape(-1), len(uniq)
            self._codes[columns] = code
        return self._codes[columns]

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.con.close()

    def draw(self, bound: BoundRound, taken: np.ndarray, seed: int, allow_smaller: bool) -> Draw:
        """Draw one round from the rows not yet ``taken``.

        Args:
            bound: The validated round.
            taken: Boolean mask over logical row ids: rows drawn before (not eligible).
            seed: The sample's seed.
            allow_smaller: Draw what there is (with a warning) instead of failing when
                the round asks for more rows than are eligible.

        Raises:
            InvalidInput: more rows asked for than eligible, a stratum below its minimum,
                bad weights (naming how many rows and examples).
        """
        stream = round_stream(seed, bound.number)
        keys = uniform_keys(np.arange(self.row_count), stream)
        view = self.base.append_column(KEY, pa.array(keys)).append_column(AVAIL, pa.array(~taken))
        try:
            self.con.unregister("r")
        except duckdb.Error:
            pass
        self.con.register("r", view)
        cond, params = f'"{AVAIL}"', []
        if bound.filter is not None:
            sql, params = render_sql(bound.filter.node)
            cond = f"{cond} AND {sql}"
        ctx = _Round(self, bound, cond, params, allow_smaller, stream, keys, ~taken)
        return {"random": ctx.random, "weighted": ctx.weighted, "stratified": ctx.stratified,
                "systematic": ctx.systematic}[bound.spec.method]()


class _Round:
    """One round's draw: the eligible-row condition, the keys, and the four methods."""

    def __init__(self, population: Population, bound: BoundRound, cond: str, params: list,
                 allow_smaller: bool, stream: int, keys: np.ndarray, avail: np.ndarray) -> None:
        self.con, self.codes, self.base = population.con, population.codes, population.base
        self.bound, self.spec = bound, bound.spec
        self.keys, self.avail = keys, avail
        self.cond, self.params, self.allow_smaller, self.stream = cond, params, allow_smaller, stream
        self.warnings: list[str] = []

    def ids(self, sql: str, params: list | None = None) -> np.ndarray:
        got = self.con.execute(sql, self.params + (params or [])).fetchnumpy()
        return np.asarray(next(iter(got.values())), dtype=np.int64)

    def scalar(self, sql: str) -> int:
        return int(self.con.execute(sql, self.params).fetchone()[0])

    def fail_or_warn(self, problem: str, **fields: object) -> None:
        if not self.allow_smaller:
            raise InvalidInput(f"round {self.bound.number}: {problem} (set allow_smaller to draw what there is)",
                               round=self.bound.number, **fields)
        self.warnings.append(f"round {self.bound.number}: {problem}; drew what there is")

    def wanted(self, population: int) -> int:
        """The round's size against ``population`` eligible rows (checked; may shrink)."""
        if population == 0:
            self.fail_or_warn("no rows are eligible", eligible=0)
            return 0
        if self.spec.fraction is not None:
            return max(1, math.floor(self.spec.fraction * population + 0.5))
        n = int(self.spec.size)
        if n > population:
            self.fail_or_warn(f"asks for {n} rows but only {population} are eligible", requested=n,
                              eligible=population)
            return population
        return n

    def done(self, ids: np.ndarray, requested: int, eligible: int, **details: object) -> Draw:
        return Draw(np.sort(ids), requested, eligible, dict(details), tuple(self.warnings))

    def requested(self, population: int) -> int:
        if self.spec.fraction is not None:
            return max(1, math.floor(self.spec.fraction * population + 0.5)) if population else 0
        return int(self.spec.size)

    # ------------------------------------------------------------------ methods
    def random(self) -> Draw:
        eligible = self.scalar(f"SELECT count(*) FROM r WHERE {self.cond}")
        n = self.wanted(eligible)
        ids = self.ids(f'SELECT "{RID}" FROM r WHERE {self.cond} ORDER BY "{KEY}", "{RID}" LIMIT {n}')
        return self.done(ids, self.requested(eligible), eligible)

    def weighted(self) -> Draw:
        w = f"CAST({quote_identifier(self.spec.weight)} AS DOUBLE)"
        bad = f"({w} IS NULL OR NOT isfinite({w}) OR {w} < 0)"
        row = self.con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {w} IS NULL), count(*) FILTER (WHERE isnan({w})), "
            f"count(*) FILTER (WHERE {w} < 0), count(*) FILTER (WHERE isinf({w}) AND {w} > 0), "
            f"count(*) FILTER (WHERE {w} > 0 AND isfinite({w})) FROM r WHERE {self.cond}", self.params).fetchone()
        eligible, nulls, nans, negative, infinite, positive = (int(v or 0) for v in row)
        if nulls or nans or negative or infinite:
            examples = self.ids(f'SELECT "{RID}" FROM r WHERE {self.cond} AND {bad} ORDER BY "{RID}" '
                                f"LIMIT {_EXAMPLES}")
            counts = ", ".join(f"{c} {what}" for c, what in ((negative, "negative"), (nans, "NaN"),
                                                             (nulls, "null"), (infinite, "infinite")) if c)
            total = nulls + nans + negative + infinite
            raise InvalidInput(
                f"round {self.bound.number}: weight column {self.spec.weight!r} has {total} unusable value(s) "
                f"among the {eligible} eligible rows ({counts}); e.g. logical rows "
                f"{', '.join(map(str, examples))}. Weights must be finite and >= 0 (filter those rows out)",
                round=self.bound.number, column=self.spec.weight, bad_rows=total,
                examples=[int(x) for x in examples])
        n = self.wanted(positive)
        ids = self.ids(f'SELECT "{RID}" FROM r WHERE {self.cond} AND {w} > 0 '
                       f'ORDER BY ln("{KEY}") / {w} DESC, "{RID}" LIMIT {n}')
        return self.done(ids, self.requested(positive), eligible, positive_weight_rows=positive)

    def eligible_ids(self) -> np.ndarray:
        """Logical row ids of the eligible rows, ascending (the filter runs in DuckDB)."""
        if self.bound.filter is None:
            return np.flatnonzero(self.avail)
        mask = np.zeros(len(self.avail), dtype=bool)
        mask[self.ids(f'SELECT "{RID}" FROM r WHERE {self.cond}')] = True
        return np.flatnonzero(mask)

    def stratified(self) -> Draw:
        elig = self.eligible_ids()
        codes = self.codes(self.spec.strata)[elig]
        # strata present, ordered by their first eligible row (sid): a data-determined order
        first = np.full(int(codes.max(initial=-1)) + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, codes, elig)
        present = np.flatnonzero(first != np.iinfo(np.int64).max)
        present = present[np.argsort(first[present], kind="stable")]
        local = np.zeros(len(first), dtype=np.int64)
        local[present] = np.arange(len(present))
        lc = local[codes]
        sid = first[present]
        sizes = np.bincount(lc, minlength=len(present)).astype(np.int64)
        take, requested = self.allocate(sizes, len(elig), sid)
        chosen = _smallest_per_group(lc, self.keys[elig], elig, take, sizes)
        return self.done(elig[chosen], requested, len(elig), strata=len(sid), allocation=self.spec.allocation,
                         per_stratum=self.stratum_table(sid, sizes, take))

    def allocate(self, sizes: np.ndarray, eligible: int, sid: np.ndarray) -> tuple[np.ndarray, int]:
        spec = self.spec
        if spec.allocation == "fixed":
            take = np.full(len(sizes), max(int(spec.per_stratum), spec.min_per_stratum), dtype=np.int64)
            requested = int(take.sum())
            if eligible == 0:
                self.fail_or_warn("no rows are eligible", eligible=0)
        else:
            n = self.wanted(eligible)
            requested = self.requested(eligible)
            # Largest remainder (Hamilton): exact total n; ties go to the stratum seen first.
            base, rem = np.divmod(n * sizes, max(eligible, 1))
            extra = n - int(base.sum())
            order = np.lexsort((sid, -rem))
            take = base.copy()
            take[order[:extra]] += 1
            take = np.maximum(take, spec.min_per_stratum)
        short = take > sizes
        if short.any():
            need = f"per_stratum={spec.per_stratum}" if spec.allocation == "fixed" else "its allocation"
            if spec.min_per_stratum:
                need += f" / min_per_stratum={spec.min_per_stratum}"
            first = int(np.flatnonzero(short)[0])
            self.fail_or_warn(
                f"{int(short.sum())} stratum/strata have fewer eligible rows than they need ({need}), e.g. "
                f"stratum {self.stratum_values(sid[first:first + 1])[0]!r} has {int(sizes[first])} rows but "
                f"needs {int(take[first])}", strata_short=int(short.sum()))
            take = np.minimum(take, sizes)
        return take, requested

    def stratum_values(self, row_ids: np.ndarray) -> list[dict]:
        """The strata columns' values at some logical rows, as JSON-able dicts."""
        rows = self.base.select(list(self.spec.strata)).take(pa.array(row_ids, pa.int64())).to_pylist()
        return [{c: _jsonable(v) for c, v in row.items()} for row in rows]

    def stratum_table(self, sid: np.ndarray, sizes: np.ndarray, take: np.ndarray) -> list[dict] | str:
        """Per stratum: values, eligible rows, rows taken (only for a readable number of strata)."""
        if len(sid) > MAX_RECORDED_STRATA:
            return f"{len(sid)} strata (details recorded for at most {MAX_RECORDED_STRATA})"
        return [{"stratum": values, "eligible": int(n), "drawn": int(t)}
                for values, n, t in zip(self.stratum_values(sid), sizes, take, strict=True)]

    def systematic(self) -> Draw:
        order = f"{quote_identifier(self.spec.order_by)} NULLS LAST, " if self.spec.order_by else ""
        ordered = self.ids(f'SELECT "{RID}" FROM r WHERE {self.cond} ORDER BY {order}"{RID}"')
        eligible = len(ordered)
        unit = unit_from_stream(self.stream)
        if self.spec.step is not None:
            if eligible == 0:
                self.fail_or_warn("no rows are eligible", eligible=0)
            k = float(self.spec.step)
            start = math.floor(unit * k)
            positions = np.arange(start, eligible, int(k), dtype=np.int64)
            requested = len(positions)
        else:
            n = self.wanted(eligible)
            requested = self.requested(eligible)
            k = eligible / n if n else 0.0
            start = unit * k
            positions = np.minimum(np.floor(start + np.arange(n) * k).astype(np.int64), max(eligible - 1, 0))
        return self.done(ordered[positions], requested, eligible, interval=k, start=start,
                         order_by=self.spec.order_by or "logical_row_id")


def _smallest_per_group(group: np.ndarray, keys: np.ndarray, tie: np.ndarray, take: np.ndarray,
                        sizes: np.ndarray) -> np.ndarray:
    """Positions of the ``take[g]`` rows with the smallest (key, tie) in every group ``g``.

    Exact, without sorting every row: only rows whose key is below a per-group threshold
    (a generous binomial upper bound for the ``take[g]``-th smallest uniform key) are
    sorted; a group with too few such rows falls back to all its rows.
    """
    limit = np.where(take > 0, (take + 4 * np.sqrt(take) + 16) / np.maximum(sizes, 1), -1.0)
    cand = np.flatnonzero(keys < limit[group])
    short = (np.bincount(group[cand], minlength=len(take)) < take)
    if short.any():
        limit[short] = 2.0
        cand = np.flatnonzero(keys < limit[group])
    order = cand[np.lexsort((tie[cand], keys[cand], group[cand]))]
    ordered_groups = group[order]
    starts = np.searchsorted(ordered_groups, np.arange(len(take)))
    rank = np.arange(len(order)) - starts[ordered_groups]
    return order[rank < take[ordered_groups]]


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)
