"""Multi-round sampling of a dataset version: every round a commit, every draw reproducible.

A sample named ``X`` draws from one source commit and table, in rounds. Round ``n``
draws only rows no earlier round of ``X`` drew (and, with ``exclude_samples``, no
round of the named other samples). Each round becomes a commit on branch
``samples/X``, created at the source commit, holding two tables that reference the
source's stored rows (no data is copied):

- ``<table>``: the rows this round drew;
- ``<table>__all_rounds``: the rows of rounds 1..n together.

Rows keep the source's logical order (ascending logical row id). Round ``n``'s commit
has the previous round's commit as first parent and, from round 2 on, the source
commit as second parent, so every sample commit names its source. The catalog keeps
a run record per call and a round record per round (counts, residual, commit, the
drawn row ids as an object); see :mod:`.records`.

Nothing is written until every round is computed and checked; a failure while
writing moves the branch back (or deletes it, for a new sample) and marks the run
failed.

Example::

    from dsa_pipelines.sampling import SampleRound, SampleSpec, draw_sample
    spec = SampleSpec("payments", "audit-q3", source_revision="main", seed=7, rounds=(
        SampleRound("stratified", size=200, strata=("country",), min_per_stratum=5),
        SampleRound("weighted", size=50, weight="amount", filter="amount > 1000"),
    ))
    result = draw_sample(store, spec)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsa_pipelines.storage import AlreadyExists, DsaError, InvalidInput, NotFound, Store

from .columns import SampleColumn, sample_columns
from .methods import Population
from .records import (
    PlannedRound,
    RoundRecord,
    SampleInfo,
    SamplingRun,
    abandon,
    finish,
    get_rows,
    load_runs,
    load_sample,
    load_samples,
    put_rows,
    reserve,
    set_round_commit,
)
from .spec import UNION_SUFFIX, SampleRound, SampleSpec, bind_rounds, check_spec

__all__ = [
    "RoundResult", "SampleColumn", "SampleInfo", "SampleResult", "SampleRound", "SampleSpec", "SamplingRun",
    "RoundRecord", "draw_sample", "get_sample", "list_samples", "sample_columns", "sample_row_ids", "sampling_runs",
]


@dataclass(frozen=True)
class RoundResult:
    """One drawn round: counts, the commit holding it, and its logical row ids (ascending)."""

    round: int
    method: str
    requested: int
    drawn: int
    eligible: int
    residual: int
    commit_id: str
    row_ids: np.ndarray = field(repr=False, compare=False)
    details: dict = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleResult:
    """The outcome of :func:`draw_sample`."""

    dataset: str
    name: str
    branch: str
    source_commit: str
    table: str
    seed: int
    run_id: int
    rounds: tuple[RoundResult, ...]
    warnings: tuple[str, ...] = ()

    @property
    def commits(self) -> tuple[str, ...]:
        """The commits created, one per round."""
        return tuple(r.commit_id for r in self.rounds)


def draw_sample(store: Store, spec: SampleSpec) -> SampleResult:
    """Draw a sample's rounds (a new sample, or more rounds of an existing one).

    Args:
        store: The version store.
        spec: What to draw. A name that exists continues that sample (its rounds
            continue the numbering) if ``spec`` resolves to the same source commit and
            table; otherwise the name is taken.

    Returns:
        The rounds drawn, with their commits on branch ``samples/<name>``.

    Raises:
        InvalidInput: a bad option, unknown column, bad filter or weights, a size above
            the eligible rows (without ``allow_smaller``), a stratum below its minimum.
        AlreadyExists: the name belongs to a sample of another source, or the branch
            ``samples/<name>`` exists without a sample record.
        NotFound: the dataset, revision, table or an excluded sample does not exist.
    """
    check_spec(spec)
    store.get_dataset(spec.dataset)
    source = store.resolve(spec.dataset, spec.source_revision)
    info = store.table_info(spec.dataset, source, spec.table)
    existing = load_sample(store, spec.dataset, spec.name)
    head_before = store.get_ref(spec.dataset, spec.branch)
    if existing is not None:
        if (existing.source_commit, existing.table) != (source, info.name):
            raise AlreadyExists(
                f"sample {spec.name!r} already exists, drawn from table {existing.table!r} of commit "
                f"{existing.source_commit[:12]}; continuing it needs that source (got table {info.name!r} of "
                f"commit {source[:12]}), or choose another name", kind="sample", name=spec.name)
        expected_head = existing.rounds[-1].commit_id if existing.rounds else source
        if head_before is None or head_before.commit_id != expected_head:
            raise InvalidInput(
                f"branch {spec.branch!r} no longer points at the sample's last round ({expected_head[:12]}); "
                "reset it there before continuing the sample", branch=spec.branch)
    elif head_before is not None:
        raise AlreadyExists(f"branch {spec.branch!r} already exists in dataset {spec.dataset!r} but is not a "
                            "sample; choose another sample name", kind="branch", name=spec.branch)
    first_round = existing.rounds[-1].round + 1 if existing and existing.rounds else 1
    bound = bind_rounds(spec, info.schema, info.name, first_round)

    taken = np.zeros(info.row_count, dtype=bool)
    union = np.concatenate([get_rows(store, r.rows_object) for r in existing.rounds]) \
        if existing and existing.rounds else np.empty(0, np.int64)
    taken[union] = True
    for other in spec.exclude_samples:
        taken[_excluded_rows(store, spec, other, source, info.name)] = True

    columns = list(dict.fromkeys(c for b in bound for c in b.columns))
    data = store.read_table(spec.dataset, source, info.name, columns=columns).table if columns else None
    population = Population(data, info.row_count)
    planned: list[PlannedRound] = []
    drawn: list[np.ndarray] = []
    try:
        for b in bound:
            draw = population.draw(b, taken, spec.seed, spec.allow_smaller)
            taken[draw.row_ids] = True
            drawn.append(draw.row_ids)
            planned.append(PlannedRound(
                b.number, b.spec.method, b.spec.to_json(), draw.requested, len(draw.row_ids), draw.eligible,
                int(info.row_count - taken.sum()), put_rows(store, draw.row_ids), draw.details,
                draw.warnings))
    finally:
        population.close()

    warnings = [w for p in planned for w in p.warnings]
    run_id = reserve(store, dataset=spec.dataset, name=spec.name, branch=spec.branch, source_commit=source,
                     table=info.name, seed=spec.seed, params=spec.to_json(), new_sample=existing is None,
                     planned=planned, warnings=warnings, dagster_run_id=spec.run_id, author=spec.author)
    try:
        commits = _write_rounds(store, spec, source, info.name, planned, drawn, union, existing is None)
    except BaseException as e:
        _roll_back(store, spec, head_before.commit_id if head_before else None)
        abandon(store, run_id, dataset=spec.dataset, name=spec.name, new_sample=existing is None,
                error=f"{type(e).__name__}: {e}")
        raise
    finish(store, run_id, commits)
    rounds = tuple(RoundResult(p.round, p.method, p.requested, p.drawn, p.eligible, p.residual, c, ids, p.details,
                               p.warnings) for p, c, ids in zip(planned, commits, drawn, strict=True))
    return SampleResult(spec.dataset, spec.name, spec.branch, source, info.name, spec.seed, run_id, rounds,
                        tuple(warnings))


def _excluded_rows(store: Store, spec: SampleSpec, other: str, source: str, table: str) -> np.ndarray:
    sample = load_sample(store, spec.dataset, other)
    if sample is None:
        raise NotFound(f"exclude_samples: dataset {spec.dataset!r} has no sample {other!r}", kind="sample",
                       name=other)
    if (sample.source_commit, sample.table) != (source, table):
        raise InvalidInput(
            f"exclude_samples: sample {other!r} was drawn from table {sample.table!r} of commit "
            f"{sample.source_commit[:12]}, not table {table!r} of commit {source[:12]}; its rows cannot be matched",
            option="exclude_samples", name=other)
    if not sample.rounds:
        return np.empty(0, np.int64)
    return np.concatenate([get_rows(store, r.rows_object) for r in sample.rounds])


def _write_rounds(store: Store, spec: SampleSpec, source: str, table: str, planned: list[PlannedRound],
                  drawn: list[np.ndarray], union: np.ndarray, new_sample: bool) -> list[str]:
    if new_sample:
        store.create_branch(spec.dataset, spec.branch, source, actor=spec.author,
                            reason=f"sample {spec.name} from commit {source[:12]}")
    commits = []
    for p, ids in zip(planned, drawn, strict=True):
        union = np.union1d(union, ids)
        message = (f"round {p.round} of sample {spec.name} from commit {source[:12]}: {p.method}, "
                   f"{p.drawn} of {p.eligible} eligible rows")
        result = store.commit_selections(
            spec.dataset, spec.branch, source, {table: ids, table + UNION_SUFFIX: union}, table=table,
            message=message, author=spec.author, replace=True,
            extra_parents=(source,) if p.round > 1 else (), run_id=spec.run_id,
            meta={"sample": spec.name, "round": p.round, "source_commit": source, "table": table,
                  "seed": spec.seed, "method": p.method})
        set_round_commit(store, spec.dataset, spec.name, p.round, result.commit_id)
        commits.append(result.commit_id)
    return commits


def _roll_back(store: Store, spec: SampleSpec, head_before: str | None) -> None:
    """Put the sample branch back where it was (delete it if the run created it)."""
    try:
        ref = store.get_ref(spec.dataset, spec.branch)
        if ref is None or ref.commit_id == head_before:
            return
        if head_before is None:
            store.delete_branch(spec.dataset, spec.branch, actor=spec.author, reason="sampling run failed")
        else:
            store.reset_branch(spec.dataset, spec.branch, head_before, actor=spec.author,
                               reason="sampling run failed", expected=ref.commit_id)
    except DsaError:
        pass  # the original error matters more; the run record says it failed


def get_sample(store: Store, dataset: str, name: str) -> SampleInfo:
    """A sample with its completed rounds.

    Raises:
        DatasetNotFound, NotFound: no such dataset or sample.
    """
    store.get_dataset(dataset)
    sample = load_sample(store, dataset, name)
    if sample is None:
        raise NotFound(f"dataset {dataset!r} has no sample {name!r}", kind="sample", name=name)
    return sample


def list_samples(store: Store, dataset: str) -> list[SampleInfo]:
    """All samples of a dataset, by name, with their completed rounds.

    Raises:
        DatasetNotFound: no such dataset.
    """
    store.get_dataset(dataset)
    return load_samples(store, dataset)


def sampling_runs(store: Store, dataset: str, name: str | None = None) -> list[SamplingRun]:
    """The recorded sampling runs of a dataset (or of one sample), oldest first, failed ones included."""
    store.get_dataset(dataset)
    return load_runs(store, dataset, name)


def sample_row_ids(store: Store, dataset: str, name: str, round: int | None = None) -> np.ndarray:  # noqa: A002
    """Logical row ids (of the source table) a sample drew: one round's, or all rounds' (ascending).

    Raises:
        NotFound: no such sample or round.
    """
    sample = get_sample(store, dataset, name)
    rounds = [r for r in sample.rounds if round is None or r.round == round]
    if round is not None and not rounds:
        raise NotFound(f"sample {name!r} has no round {round} (it has {len(sample.rounds)})", kind="round",
                       name=str(round))
    if not rounds:
        return np.empty(0, np.int64)
    return np.sort(np.concatenate([get_rows(store, r.rows_object) for r in rounds]))
