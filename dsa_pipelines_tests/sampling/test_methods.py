"""The sampling methods' statistics and the stable random keys (DuckDB engine, no store)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dsa_pipelines.sampling.methods import Population, round_stream, uniform_keys
from dsa_pipelines.sampling.spec import SampleRound, SampleSpec, bind_rounds
from dsa_pipelines.storage import InvalidInput

N = 10_000
SHARES = {"DE": 0.5, "FR": 0.3, "IT": 0.15, "ES": 0.05}
ROUND_STREAM_7_1 = 0x3D41BF495CD3075F  # pinned: seed 7, round 1


def table(n: int = N) -> pa.Table:
    """Deterministic data: strata in fixed shares (interleaved), weights 1..10, an order column."""
    country = np.repeat(list(SHARES), [int(n * s) for s in SHARES.values()])
    country = country[np.random.default_rng(3).permutation(n)]
    return pa.table({
        "country": country,
        "w": (np.arange(n) % 10 + 1).astype(np.float64),
        "rank": (np.arange(n) * 7919) % n,  # a permutation of 0..n-1
    })


def draw(rounds: list[SampleRound], seed: int = 1, data: pa.Table | None = None, allow_smaller: bool = False):
    data = table() if data is None else data
    bound = bind_rounds(SampleSpec("d", "s", tuple(rounds), seed=seed), data.schema, "t", 1)
    pop = Population(data, data.num_rows)
    taken = np.zeros(data.num_rows, dtype=bool)
    out = []
    try:
        for b in bound:
            d = pop.draw(b, taken, seed, allow_smaller)
            taken[d.row_ids] = True
            out.append(d)
    finally:
        pop.close()
    return out


def test_keys_are_pinned_uniform_and_seed_dependent() -> None:
    stream = round_stream(42, 1)
    keys = uniform_keys(np.arange(200_000), stream)
    assert keys.min() > 0 and keys.max() < 1
    assert abs(keys.mean() - 0.5) < 0.005
    assert np.histogram(keys, bins=10, range=(0, 1))[0].min() > 19_000
    assert np.array_equal(keys, uniform_keys(np.arange(200_000), round_stream(42, 1)))
    assert not np.array_equal(keys[:100], uniform_keys(np.arange(100), round_stream(43, 1)))
    assert not np.array_equal(keys[:100], uniform_keys(np.arange(100), round_stream(42, 2)))


def _reference_key(rid: int, stream: int) -> float:
    """splitmix64 in plain Python integers, written independently of the vectorised version."""
    mask = (1 << 64) - 1
    z = (rid * 0x9E3779B97F4A7C15 + stream) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    z ^= z >> 31
    return ((z >> 11) + 0.5) * 2.0**-53


def test_key_values_are_a_stable_format() -> None:
    # The keys are a format: changing them changes every sample ever drawn.
    assert round_stream(7, 1) == ROUND_STREAM_7_1
    rids = np.array([0, 1, 2, 999_999, 2**40])
    expected = [_reference_key(int(r), ROUND_STREAM_7_1) for r in rids]
    assert uniform_keys(rids, round_stream(7, 1)).tolist() == expected


def test_random_draws_exact_size_without_replacement_and_uniformly() -> None:
    counts = np.zeros(N)
    for seed in range(60):
        [d] = draw([SampleRound("random", size=500)], seed=seed)
        assert len(d.row_ids) == 500 == len(np.unique(d.row_ids))
        counts[d.row_ids] += 1
    # each row is drawn with probability 0.05: expected 3 of 60; decile means agree
    by_decile = counts.reshape(10, -1).mean(axis=1)
    assert np.all(np.abs(by_decile - 3.0) < 0.35), by_decile


def test_stratified_proportional_allocation_matches_shares() -> None:
    [d] = draw([SampleRound("stratified", size=1000, strata=("country",))])
    country = table().column("country").to_numpy(zero_copy_only=False)[d.row_ids]
    got = {c: int((country == c).sum()) for c in SHARES}
    assert got == {c: round(1000 * s) for c, s in SHARES.items()}
    assert d.details["strata"] == 4
    assert sum(s["drawn"] for s in d.details["per_stratum"]) == 1000


def test_stratified_proportions_within_tolerance_for_uneven_fraction() -> None:
    [d] = draw([SampleRound("stratified", fraction=0.0333, strata=("country",))])
    country = table().column("country").to_numpy(zero_copy_only=False)[d.row_ids]
    for c, share in SHARES.items():
        assert abs((country == c).mean() - share) < 0.005


def test_stratified_fixed_and_minimum() -> None:
    [d] = draw([SampleRound("stratified", allocation="fixed", per_stratum=7, strata=("country",))])
    country = table().column("country").to_numpy(zero_copy_only=False)[d.row_ids]
    assert {c: int((country == c).sum()) for c in SHARES} == dict.fromkeys(SHARES, 7)
    [d] = draw([SampleRound("stratified", size=40, strata=("country",), min_per_stratum=5)])
    country = table().column("country").to_numpy(zero_copy_only=False)[d.row_ids]
    assert (country == "ES").sum() == 5  # proportional would give 2


def test_weighted_draws_favour_heavier_weights() -> None:
    counts = np.zeros(N)
    for seed in range(40):
        [d] = draw([SampleRound("weighted", size=200, weight="w")], seed=seed)
        assert len(np.unique(d.row_ids)) == 200
        counts[d.row_ids] += 1
    w = table().column("w").to_numpy()
    freq = np.array([counts[w == k].mean() for k in range(1, 11)])
    assert np.all(np.diff(freq) > 0), freq  # strictly increasing with the weight
    # small sample fraction: inclusion ~ proportional to weight (w=10 about 10x w=1)
    assert 7 < freq[-1] / freq[0] < 13, freq


def test_weighted_skips_zero_weights_and_reports_bad_ones() -> None:
    data = pa.table({"w": [0.0, 0.0, 1.0, 2.0, 0.0]})
    [d] = draw([SampleRound("weighted", size=2, weight="w")], data=data)
    assert d.row_ids.tolist() == [2, 3]
    bad = pa.table({"w": pa.array([1.0, -1.0, float("nan"), None, 2.0, -3.0])})
    with pytest.raises(InvalidInput, match="has 4 unusable value") as err:
        draw([SampleRound("weighted", size=1, weight="w")], data=bad)
    assert "2 negative, 1 NaN, 1 null" in str(err.value)
    assert err.value.examples == [1, 2, 3, 5]


def test_systematic_step_spacing() -> None:
    [d] = draw([SampleRound("systematic", step=37)])
    assert np.all(np.diff(d.row_ids) == 37)
    assert d.row_ids[0] < 37 and d.row_ids[-1] + 37 >= N
    assert d.details["interval"] == 37


def test_systematic_size_spacing_in_order_of_a_column() -> None:
    data = table()
    [d] = draw([SampleRound("systematic", size=300, order_by="rank")], data=data)
    assert len(d.row_ids) == 300
    ranks = np.sort(data.column("rank").to_numpy()[d.row_ids])
    gaps = np.diff(ranks)
    k = N / 300
    assert set(gaps.tolist()) <= {int(np.floor(k)), int(np.ceil(k))}


def test_random_start_differs_by_seed() -> None:
    starts = {int(draw([SampleRound("systematic", step=1000)], seed=s)[0].row_ids[0]) for s in range(20)}
    assert len(starts) > 10


def test_filter_and_exclusion_limit_the_eligible_rows() -> None:
    d1, d2 = draw([SampleRound("random", size=3000, filter="country = 'DE'"),
                   SampleRound("random", size=2000, filter="country = 'DE'")])
    assert d1.eligible == 5000 and d2.eligible == 2000
    assert not set(d1.row_ids) & set(d2.row_ids)
    country = table().column("country").to_numpy(zero_copy_only=False)
    assert set(country[np.concatenate([d1.row_ids, d2.row_ids])]) == {"DE"}


def test_size_above_eligible_fails_or_shrinks_with_warning() -> None:
    with pytest.raises(InvalidInput, match="asks for 600 rows but only 500 are eligible"):
        draw([SampleRound("random", size=600, filter="country = 'ES'")])
    [d] = draw([SampleRound("random", size=600, filter="country = 'ES'")], allow_smaller=True)
    assert len(d.row_ids) == 500 and d.requested == 600
    assert "drew what there is" in d.warnings[0]


def test_stratum_below_minimum_is_named() -> None:
    with pytest.raises(InvalidInput, match="stratum {'country': 'ES'} has 500 rows but needs 600"):
        draw([SampleRound("stratified", size=1000, strata=("country",), min_per_stratum=600)])
