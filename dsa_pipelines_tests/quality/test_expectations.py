"""Expectation suites: loading (file checks) and validation of commits on every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from dsa_pipelines.quality.expectations import find_suite, load_suite, suite_path, validate_commit
from dsa_pipelines.storage import InvalidInput, Store

REPO = Path(__file__).resolve().parents[2]
NOT_NULL_ID = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}
UNIQUE_ID = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}}
POSITIVE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0}}


def _write(path: Path, data: object) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------- loading


def test_load_suite_per_table_and_every_table(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path / "d.json", {"tables": {"t": [NOT_NULL_ID]}, "expectations": [UNIQUE_ID]}))
    assert suite.name == "d"
    assert [e["type"] for e in suite.for_table("t")] == [UNIQUE_ID["type"], NOT_NULL_ID["type"]]
    assert [e["type"] for e in suite.for_table("other")] == [UNIQUE_ID["type"]]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "must hold a JSON object"),
        ({"tables": {"t": [{"type": "expect_column_values_to_be_uniqe", "kwargs": {"column": "id"}}]}},
         "tables.t[0] (expect_column_values_to_be_uniqe) is not a valid expectation"),
        ({"tables": {"t": [{"type": "expect_column_values_to_not_be_null", "kwargs": {}}]}}, "column"),
        ({"tables": {"t": [{"kwargs": {}}]}}, "string \"type\""),
        ({"tables": {"t": NOT_NULL_ID}}, "must be a list"),
        ({"tables": [NOT_NULL_ID]}, "\"tables\" must map"),
        ({"expectation": []}, "unknown key(s) ['expectation']"),
        ({"expectations": [{**NOT_NULL_ID, "colour": 1}]}, "unknown key(s) ['colour']"),
    ],
)
def test_bad_suites_name_the_file(tmp_path: Path, content: object, words: str) -> None:
    path = _write(tmp_path / "bad.json", content)
    with pytest.raises(InvalidInput) as e:
        load_suite(path)
    assert str(path) in str(e.value)
    assert words in str(e.value)
    assert e.value.path == str(path)


def test_find_suite_uses_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSA_EXPECTATIONS_DIR", str(tmp_path))
    assert suite_path("d") == tmp_path / "d.json"
    assert find_suite("d") is None
    _write(tmp_path / "d.json", {"expectations": [NOT_NULL_ID]})
    assert find_suite("d").path == tmp_path / "d.json"


def test_shipped_example_suite_passes_on_the_sample(store: Store) -> None:
    suite = load_suite(REPO / "data" / "expectations" / "customers.json")
    store.create_dataset("customers")
    result = store.commit("customers", REPO / "data" / "samples" / "customers.csv")
    validation = validate_commit(store, "customers", result.commit_id, suite)
    assert validation.success, validation.markdown()
    assert validation.evaluated == len(suite.for_table("customers")) >= 5


# ---------------------------------------------------------------- validation


@pytest.fixture
def staged(store: Store) -> tuple[Store, str]:
    store.create_dataset("d")
    rows = pa.table({"id": [1, 2, 2, None, 5], "value": [1.0, -2.0, 3.0, -4.5, 5.0]})
    result = store.commit("d", {"t": rows, "u": pa.table({"x": [1]})}, publish=False)
    return store, result.commit_id


def test_no_suite_passes(staged: tuple[Store, str]) -> None:
    store, commit = staged
    validation = validate_commit(store, "d", commit, None)
    assert validation.success and validation.evaluated == 0
    assert "No expectation suite" in validation.markdown()


def test_failures_show_examples(staged: tuple[Store, str], tmp_path: Path) -> None:
    store, commit = staged
    suite = load_suite(_write(tmp_path / "d.json", {"tables": {"t": [NOT_NULL_ID, UNIQUE_ID, POSITIVE],
                                                                "gone": [NOT_NULL_ID]}}))
    validation = validate_commit(store, "d", commit, suite)
    assert not validation.success
    assert [t.table for t in validation.tables] == ["t"]
    assert validation.missing_tables == ("gone",)
    outcomes = {o.type: o for o in validation.tables[0].outcomes}
    assert outcomes[NOT_NULL_ID["type"]].unexpected_count == 1
    assert outcomes[UNIQUE_ID["type"]].unexpected_count == 2
    assert sorted(outcomes[POSITIVE["type"]].examples) == ["-2.0", "-4.5"]
    md = validation.markdown()
    assert "0 of 3 expectation(s) held" in md
    assert "| t | expect_column_values_to_be_between | value | 2 (40.0%) | `-2.0`, `-4.5` |" in md
    assert "`gone` is named by the suite but absent" in md


def test_passing_suite_and_missing_column_error(staged: tuple[Store, str], tmp_path: Path) -> None:
    store, commit = staged
    ok = load_suite(_write(tmp_path / "ok.json", {"tables": {"u": [{"type": "expect_column_values_to_not_be_null",
                                                                     "kwargs": {"column": "x"}}]}}))
    assert validate_commit(store, "d", commit, ok).success
    missing = load_suite(_write(tmp_path / "m.json", {"tables": {"u": [{"type": "expect_column_values_to_not_be_null",
                                                                        "kwargs": {"column": "nope"}}]}}))
    validation = validate_commit(store, "d", commit, missing)
    assert not validation.success
    assert "nope" in validation.failures[0][1].error


def test_row_cap(staged: tuple[Store, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, commit = staged
    suite = load_suite(_write(tmp_path / "d.json", {"tables": {"t": [POSITIVE]}}))
    monkeypatch.setenv("DSA_EXPECTATIONS_MAX_ROWS", "1")
    capped = validate_commit(store, "d", commit, suite)
    assert capped.success and capped.tables[0].capped and capped.tables[0].rows_checked == 1
    assert "validated the first 1 of 5 rows" in capped.markdown()
    monkeypatch.setenv("DSA_EXPECTATIONS_MAX_ROWS", "many")
    with pytest.raises(InvalidInput, match="DSA_EXPECTATIONS_MAX_ROWS"):
        validate_commit(store, "d", commit, suite)
