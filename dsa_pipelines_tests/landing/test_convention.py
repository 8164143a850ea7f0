"""The landing-folder convention: paths → dataset, branch and options."""

from __future__ import annotations

from pathlib import PurePosixPath as P

import pytest

from dsa_pipelines.landing.convention import (
    is_ignored,
    is_sidecar,
    landing_target,
    parse_options,
    parse_target,
    sidecar_of,
)
from dsa_pipelines.storage import InvalidInput, InvalidName


@pytest.mark.parametrize(
    ("path", "dataset", "branch"),
    [
        ("customers/orders.csv", "customers", "main"),
        ("customers/@feature-x/orders.csv", "customers", "feature-x"),
        ("customers/@feature/q3/orders.xlsx", "customers", "feature/q3"),
        ("customers/@@odd/orders.parquet", "customers", "@odd"),
        ("sales/@main/Orders 2026.TSV", "sales", "main"),
    ],
)
def test_dataset_and_branch_from_path(path: str, dataset: str, branch: str) -> None:
    assert parse_target(P(path)) == (dataset, branch)


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("orders.csv", InvalidInput, "directly in the landing folder has no dataset"),
        ("customers/orders.json", InvalidInput, "unsupported file type '.json'"),
        ("customers/README", InvalidInput, "(no extension)"),
        ("customers/archive/orders.csv", InvalidInput, "folder 'archive' inside dataset 'customers' does not name"),
        ("customers/@/orders.csv", InvalidName, "invalid branch name ''"),
        ("customers/@a..b/orders.csv", InvalidName, "contains '..'"),
        ("bad name/orders.csv", InvalidName, "invalid dataset name 'bad name'"),
    ],
)
def test_paths_that_break_the_convention(path: str, error: type, message: str) -> None:
    with pytest.raises(error, match=None) as info:
        parse_target(P(path))
    assert message in str(info.value)


def test_a_root_file_error_explains_the_convention() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_target(P("orders.csv"))
    assert "customers/orders.csv" in str(info.value)
    assert "@<branch>" in str(info.value)


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        (".hidden.csv", True),
        ("customers/.orders.csv", True),
        ("customers/~$orders.xlsx", True),
        ("customers/orders.csv.tmp", True),
        ("customers/orders.csv.part", True),
        (".processing/abc/customers/orders.csv", True),
        ("customers/orders.csv", False),
        ("customers/@x/orders.xlsx.json", False),
    ],
)
def test_hidden_and_temporary_files_are_ignored(path: str, ignored: bool) -> None:
    assert is_ignored(P(path)) is ignored


def test_sidecars() -> None:
    assert sidecar_of(P("c/orders.xlsx")) == P("c/orders.xlsx.json")
    assert is_sidecar(P("c/orders.xlsx.json"))
    assert not is_sidecar(P("c/notes.json"))
    options = parse_options(P("c/orders.xlsx"), '{"sheets": ["orders", "lines"], "message": "q3"}')
    assert options == {"sheets": ["orders", "lines"], "message": "q3"}
    assert parse_options(P("c/orders.xlsx"), None) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{oops", "not valid JSON (line 1, column 2"),
        ("[1]", "must be a JSON object"),
        ('{"sheet": ["a"]}', "unknown option(s) ['sheet']"),
        ('{"replace": "yes"}', "option 'replace' must be a JSON bool"),
        ('{"sheets": []}', "non-empty list"),
        ('{"table": "a/b"}', "invalid table name 'a/b'"),
    ],
)
def test_bad_sidecars(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_options(P("c/orders.xlsx"), text)
    assert message in str(info.value)
    assert "orders.xlsx.json" in str(info.value) or "table name" in str(info.value)


def test_sheets_only_for_workbooks() -> None:
    with pytest.raises(InvalidInput, match="Excel workbooks only"):
        landing_target(P("c/orders.csv"), '{"sheets": ["a"]}')
