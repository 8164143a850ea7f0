"""Multi-round sampling on every catalog backend: commits, lineage, exclusion, records, bad input."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dsa_pipelines.sampling import (
    SampleRound,
    SampleSpec,
    draw_sample,
    get_sample,
    list_samples,
    sample_columns,
    sample_row_ids,
    sampling_runs,
)
from dsa_pipelines.sampling.records import PlannedRound, reserve
from dsa_pipelines.storage import AlreadyExists, CorruptObject, InvalidInput, NotFound, Store

N = 2_000
COUNTRIES = np.array(["DE", "FR", "IT", "ES"])


def payments(n: int = N, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    amount = np.round(rng.lognormal(4, 1.2, n), 2)
    return pa.table({
        "id": np.arange(n, dtype=np.int64),
        "country": COUNTRIES[np.arange(n) % 10 % 4],  # DE 30%, FR 30%, IT 20%, ES 20%
        "amount": pa.array(amount, mask=np.arange(n) % 50 == 0),
        "status": np.where(np.arange(n) % 3 == 0, "open", "closed"),
        "weight": rng.integers(0, 5, n).astype(np.float64),
    })


@pytest.fixture
def source(store: Store) -> str:
    store.create_dataset("pay")
    return store.commit("pay", payments(), table="payments", message="upload").commit_id


ROUNDS = (
    SampleRound("stratified", size=100, strata=("country",)),
    SampleRound("weighted", size=50, weight="weight", filter="amount is not null"),
    SampleRound("systematic", step=40),
)


def spec(name: str = "audit", rounds: tuple[SampleRound, ...] = ROUNDS, **kw: object) -> SampleSpec:
    return SampleSpec("pay", name, rounds, **{"seed": 11, **kw})


def sample_state(store: Store) -> tuple[list, list, list]:
    """What a failed draw must leave untouched: branches, samples, runs."""
    return ([b.name for b in store.branches("pay")], list_samples(store, "pay"), sampling_runs(store, "pay"))


# ----------------------------------------------------------------------------- commits and lineage
def test_each_round_is_a_commit_on_the_sample_branch(store: Store, source: str) -> None:
    result = draw_sample(store, spec(author="auditor"))
    assert result.branch == "samples/audit" and result.source_commit == source
    assert [r.round for r in result.rounds] == [1, 2, 3]
    log = store.log("pay", "samples/audit")
    assert [e.commit.id for e in log[:4]] == [*reversed(result.commits), source]
    for i, r in enumerate(result.rounds):
        commit = store.get_commit("pay", r.commit_id)
        assert commit.parents == ((source,) if i == 0 else (result.commits[i - 1], source))
        assert commit.message.startswith(f"round {r.round} of sample audit from commit {source[:12]}")
        assert commit.author == "auditor"
        assert commit.meta["sample"] == "audit" and commit.meta["round"] == r.round
        assert sorted(commit.tables) == ["payments", "payments__all_rounds"]
        rows = store.read_table("pay", commit.id, "payments").table
        assert rows.equals(payments().take(pa.array(r.row_ids)))
        union = np.sort(np.concatenate([x.row_ids for x in result.rounds[: i + 1]]))
        assert store.read_table("pay", commit.id, "payments__all_rounds").table.column("id").to_numpy().tolist() \
            == union.tolist()
    reason = store.reflog("pay", "samples/audit")[-1].reason
    assert "sample audit" in reason and source[:12] in reason


def test_no_row_in_two_rounds_and_residuals(store: Store, source: str) -> None:
    result = draw_sample(store, spec())
    ids = [set(r.row_ids.tolist()) for r in result.rounds]
    assert sum(map(len, ids)) == len(set().union(*ids))
    drawn = 0
    for r in result.rounds:
        drawn += r.drawn
        assert r.residual == N - drawn
    assert result.rounds[0].drawn == 100 and result.rounds[1].drawn == 50
    assert np.all(np.diff(np.searchsorted(np.setdiff1d(np.arange(N), np.concatenate(
        [result.rounds[0].row_ids, result.rounds[1].row_ids])), result.rounds[2].row_ids)) == 40)


def test_same_source_config_and_seed_draw_the_same_rows(store: Store, source: str) -> None:
    a = draw_sample(store, spec("a"))
    b = draw_sample(store, spec("b"))
    c = draw_sample(store, spec("c", seed=12))
    for ra, rb in zip(a.rounds, b.rounds, strict=True):
        assert ra.row_ids.tolist() == rb.row_ids.tolist()
    assert a.rounds[0].row_ids.tolist() != c.rounds[0].row_ids.tolist()
    assert store.get_commit("pay", a.commits[0]).tables["payments"].content_id == \
        store.get_commit("pay", b.commits[0]).tables["payments"].content_id


def test_continuing_a_sample_excludes_earlier_rounds(store: Store, source: str) -> None:
    first = draw_sample(store, spec(rounds=ROUNDS[:2]))
    more = draw_sample(store, spec(rounds=(ROUNDS[2], SampleRound("random", fraction=0.5))))
    assert [r.round for r in more.rounds] == [3, 4]
    earlier = set(np.concatenate([r.row_ids for r in first.rounds]).tolist())
    for r in more.rounds:
        assert not earlier & set(r.row_ids.tolist())
    assert store.get_commit("pay", more.commits[0]).parents == (first.commits[-1], source)
    # drawing rounds 1-3 at once gives the same rows as drawing 1-2 and continuing with 3
    at_once = draw_sample(store, spec("at-once"))
    assert at_once.rounds[2].row_ids.tolist() == more.rounds[0].row_ids.tolist()
    sample = get_sample(store, "pay", "audit")
    assert [r.round for r in sample.rounds] == [1, 2, 3, 4]
    assert sample_row_ids(store, "pay", "audit", 3).tolist() == more.rounds[0].row_ids.tolist()
    assert len(sample_row_ids(store, "pay", "audit")) == sum(r.drawn for r in first.rounds + more.rounds)
    all_rounds = store.read_table("pay", "samples/audit", "payments__all_rounds").table
    assert all_rounds.column("id").to_numpy().tolist() == sample_row_ids(store, "pay", "audit").tolist()


def test_exclude_samples_keeps_other_samples_rows_out(store: Store, source: str) -> None:
    first = draw_sample(store, spec("first", rounds=(SampleRound("random", size=1500),)))
    second = draw_sample(store, spec("second", rounds=(SampleRound("random", size=500),), exclude_samples=("first",)))
    assert not set(first.rounds[0].row_ids.tolist()) & set(second.rounds[0].row_ids.tolist())
    assert second.rounds[0].eligible == 500 and second.rounds[0].residual == 0


def test_run_and_round_records(store: Store, source: str) -> None:
    result = draw_sample(store, spec(rounds=(SampleRound("random", fraction=0.1, filter="status = 'open'"),),
                                     run_id="dagster-run-1", author="qa"))
    [run] = sampling_runs(store, "pay", "audit")
    assert run.status == "succeeded" and run.seed == 11 and run.source_commit == source
    assert run.commits == result.commits and run.dagster_run_id == "dagster-run-1" and run.created_by == "qa"
    assert run.params["rounds"][0]["filter"] == "status = 'open'" and run.finished_at
    [info] = list_samples(store, "pay")
    [rnd] = info.rounds
    assert (rnd.method, rnd.requested, rnd.drawn, rnd.eligible) == ("random", 67, 67, 667)
    assert rnd.residual == N - 67 and rnd.commit_id == result.commits[0]
    assert info.table == "payments" and info.branch == "samples/audit"


def test_allow_smaller_draws_all_and_records_the_warning(store: Store, source: str) -> None:
    result = draw_sample(store, spec(rounds=(SampleRound("random", size=5000),), allow_smaller=True))
    assert result.rounds[0].drawn == N and result.rounds[0].requested == 5000
    assert "asks for 5000 rows but only 2000 are eligible" in result.warnings[0]
    assert sampling_runs(store, "pay")[0].warnings == result.warnings
    assert get_sample(store, "pay", "audit").rounds[0].warnings == result.warnings


def test_sample_columns(store: Store, source: str) -> None:
    cols = {c.name: c for c in sample_columns(store, "pay", "main")}
    assert list(cols) == ["id", "country", "amount", "status", "weight"]
    assert cols["country"].values == ("DE", "ES", "FR", "IT") and cols["country"].distinct == 4
    assert cols["id"].values is None and cols["id"].distinct == N
    assert cols["amount"].nullable and cols["amount"].nulls == N // 50
    assert not cols["status"].nullable and cols["status"].values == ("closed", "open")
    assert cols["weight"].values == (0.0, 1.0, 2.0, 3.0, 4.0) and "weight" in cols["weight"].uses
    assert "weight" not in cols["country"].uses and cols["amount"].type == "double"


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("rounds", "error", "words"), [
    ((SampleRound("stratified", size=10, strata=("region",)),), InvalidInput, "unknown column 'region' in strata"),
    ((SampleRound("weighted", size=10, weight="country"),), InvalidInput, "is string, not numeric"),
    ((SampleRound("random", fraction=0.0),), InvalidInput, "fraction must be in (0, 1]"),
    ((SampleRound("random", fraction=1.5),), InvalidInput, "fraction must be in (0, 1]"),
    ((SampleRound("random", fraction=float("nan")),), InvalidInput, "fraction must be in (0, 1]"),
    ((SampleRound("random", size=-3),), InvalidInput, "size must be a whole number"),
    ((SampleRound("random"),), InvalidInput, "needs exactly one of fraction or size"),
    ((SampleRound("magic", size=1),), InvalidInput, "unknown method 'magic'"),
    ((SampleRound("random", size=10, filter="amount >> 3"),), InvalidInput, "does not parse at position 8"),
    ((SampleRound("random", size=10, filter="amout > 3"),), InvalidInput, "unknown column 'amout'"),
    ((SampleRound("random", size=2001),), InvalidInput, "asks for 2001 rows but only 2000 are eligible"),
    ((SampleRound("stratified", size=100, strata=("country",), min_per_stratum=401),), InvalidInput,
     "fewer eligible rows than they need"),
    ((SampleRound("weighted", size=10, weight="amount"),), InvalidInput, "40 unusable value(s)"),
    # a later round fails: nothing of the earlier rounds may be written
    ((SampleRound("random", size=1000), SampleRound("random", size=900), SampleRound("random", size=200)),
     InvalidInput, "round 3: asks for 200 rows but only 100 are eligible"),
])
def test_bad_input_is_refused_before_anything_is_written(store: Store, source: str, rounds: tuple, error: type,
                                                         words: str) -> None:
    before = sample_state(store)
    with pytest.raises(error) as err:
        draw_sample(store, spec(rounds=rounds))
    assert words in str(err.value)
    assert sample_state(store) == before
    assert store.get_ref("pay", "samples/audit") is None


def test_existing_name_from_another_source_is_refused(store: Store, source: str) -> None:
    draw_sample(store, spec(rounds=(SampleRound("random", size=5),)))
    head = store.get_ref("pay", "samples/audit").commit_id
    store.commit("pay", payments(seed=1), table="payments", message="new upload")
    with pytest.raises(AlreadyExists, match="sample 'audit' already exists"):
        draw_sample(store, spec(rounds=(SampleRound("random", size=5),)))
    assert store.get_ref("pay", "samples/audit").commit_id == head
    with pytest.raises(NotFound, match="no sample 'nope'"):
        draw_sample(store, spec("other", rounds=(SampleRound("random", size=5),), exclude_samples=("nope",)))
    with pytest.raises(InvalidInput, match="cannot be matched"):
        draw_sample(store, spec("other", rounds=(SampleRound("random", size=5),), exclude_samples=("audit",)))
    assert [r.status for r in sampling_runs(store, "pay")] == ["succeeded"]


def test_a_branch_that_is_not_a_sample_is_not_taken_over(store: Store, source: str) -> None:
    store.create_branch("pay", "samples/mine", source)
    with pytest.raises(AlreadyExists, match="is not a sample"):
        draw_sample(store, spec("mine", rounds=(SampleRound("random", size=5),)))
    with pytest.raises(InvalidInput, match="invalid branch name"):
        draw_sample(store, spec("bad name", rounds=(SampleRound("random", size=5),)))


# ----------------------------------------------------------------------------- failures while writing
def test_a_failure_while_writing_rolls_the_branch_back(store: Store, source: str) -> None:
    # Random rounds read no column, so the draw succeeds; writing the commits needs the
    # source's stored rows, which are gone: the first round commit fails.
    for pack in (store.root / "objects" / "packs").rglob("*.parquet"):
        pack.unlink()
    with pytest.raises(CorruptObject):
        draw_sample(store, spec(rounds=(SampleRound("random", size=5), SampleRound("random", size=5))))
    assert store.get_ref("pay", "samples/audit") is None
    assert list_samples(store, "pay") == []
    [run] = sampling_runs(store, "pay")
    assert run.status == "failed" and "CorruptObject" in run.error and run.finished_at
    assert [r.reason for r in store.reflog("pay", "samples/audit")][:1] == ["sampling run failed"]


def test_round_numbers_are_claimed_once(store: Store, source: str) -> None:
    draw_sample(store, spec(rounds=(SampleRound("random", size=5),)))
    planned = [PlannedRound(2, "random", {}, 1, 1, 1, 1, "0" * 64, {}, ())]
    args = dict(dataset="pay", name="audit", branch="samples/audit", source_commit=source, table="payments",
                seed=1, params={}, new_sample=False, planned=planned, warnings=[], dagster_run_id=None, author="")
    reserve(store, **args)
    with pytest.raises(AlreadyExists, match="continued by another run meanwhile"):
        reserve(store, **args)
    with pytest.raises(AlreadyExists):  # the name is taken too
        reserve(store, **{**args, "new_sample": True, "planned": [
            PlannedRound(9, "random", {}, 1, 1, 1, 1, "0" * 64, {}, ())]})
