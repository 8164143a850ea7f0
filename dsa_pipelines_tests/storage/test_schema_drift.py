"""Schema drift between commits, on every catalog backend."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dsa_pipelines.storage import RevisionNotFound, Store
from dsa_pipelines.storage.schema_drift import (
    COLUMN_ADDED,
    COLUMN_REMOVED,
    NULLABILITY_CHANGED,
    TABLE_ADDED,
    TABLE_REMOVED,
    TYPE_CHANGED,
    SchemaChange,
)

BASE = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "email": ["a@x.io", "b@x.io", "c@x.io"],
                 "value": [1.5, 2.5, 3.5]})


def _stage(store: Store, tables: dict[str, pa.Table], *, replace: bool = False) -> str:
    result = store.commit("d", tables, publish=False, replace=replace)
    assert result.status == "staged"
    return result.commit_id


@pytest.fixture
def dataset(store: Store) -> Store:
    store.create_dataset("d")
    store.commit("d", {"people": BASE})
    return store


def test_first_data_is_never_drift(store: Store) -> None:
    store.create_dataset("d")
    staged = _stage(store, {"people": BASE})
    report = store.schema_drift("d", staged)
    assert report.first_data
    assert report.changes == (SchemaChange("people", TABLE_ADDED),)
    assert not report.drifted
    assert report.verdict("reject") == "pass"
    assert "First data" in report.markdown()


def test_same_schema_new_rows_is_no_drift(dataset: Store) -> None:
    staged = _stage(dataset, {"people": BASE.slice(0, 2)})
    report = dataset.schema_drift("d", staged)
    assert report.changes == ()
    assert report.base == dataset.resolve("d", "main")
    assert report.verdict("reject") == "pass"
    assert report.markdown().startswith("No schema drift against")


def test_columns_added_removed_and_retyped(dataset: Store) -> None:
    changed = pa.table({"id": ["1", "2", "3"], "email": ["a@x.io", "b@x.io", "c@x.io"], "age": [30, 40, 50]})
    report = dataset.schema_drift("d", _stage(dataset, {"people": changed}))
    kinds = {(c.kind, c.column) for c in report.changes}
    assert kinds == {(COLUMN_ADDED, "age"), (COLUMN_REMOVED, "value"), (TYPE_CHANGED, "id")}
    retyped = next(c for c in report.changes if c.kind == TYPE_CHANGED)
    assert retyped.before.startswith("int64") and retyped.after.startswith("string")
    assert report.drifted
    md = report.markdown()
    assert "| people | age | column added |" in md and "| people | value | column removed |" in md


def test_nullability_change(dataset: Store) -> None:
    with_null = BASE.set_column(2, "value", pa.array([1.5, None, 3.5]))
    report = dataset.schema_drift("d", _stage(dataset, {"people": with_null}))
    assert report.changes == (SchemaChange("people", NULLABILITY_CHANGED, "value", "not null", "nullable"),)


def test_physical_width_is_not_drift(dataset: Store) -> None:
    narrow = BASE.set_column(0, "id", pa.array([1, 2, 4], pa.int32()))
    assert dataset.schema_drift("d", _stage(dataset, {"people": narrow})).changes == ()


def test_tables_added_and_removed(dataset: Store) -> None:
    staged = _stage(dataset, {"orders": pa.table({"n": [1]})}, replace=True)
    report = dataset.schema_drift("d", staged)
    assert report.changes == (SchemaChange("orders", TABLE_ADDED), SchemaChange("people", TABLE_REMOVED))
    assert report.drifted


@pytest.mark.parametrize(("policy", "verdict"), [("reject", "fail"), ("warn", "warn"), ("allow", "pass")])
def test_policy_verdicts(dataset: Store, policy: str, verdict: str) -> None:
    staged = _stage(dataset, {"people": BASE.drop_columns(["value"])})
    assert dataset.schema_drift("d", staged).verdict(policy) == verdict


def test_against_an_explicit_revision_and_unknown_commit(dataset: Store) -> None:
    staged = _stage(dataset, {"people": BASE.drop_columns(["value"])})
    root = dataset.log("d")[-1].commit.id
    report = dataset.schema_drift("d", staged, against=root)
    assert report.base == root and report.first_data
    assert report.to_dict()["drifted"] is False
    with pytest.raises(RevisionNotFound):
        dataset.schema_drift("d", "0" * 12)
