"""The sampling filter language: parsing, validation, SQL rendering (run in real DuckDB)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from dsa_pipelines.sampling.filters import (
    BoolOp,
    Compare,
    InList,
    IsNull,
    Not,
    parse_filter,
    render_sql,
)
from dsa_pipelines.storage import InvalidInput

SCHEMA = pa.schema([("amount", pa.float64()), ("n", pa.int64()), ("country", pa.string()), ("status", pa.string()),
                    ("flag", pa.bool_()), ("day", pa.date32()), ("first name", pa.string()),
                    ("tags", pa.list_(pa.string()))])

DATA = pa.table({
    "amount": [5.0, 1500.0, 20.0, None, 3000.0],
    "n": [1, 2, 3, 4, 5],
    "country": ["DE", "FR", "IT", "DE", None],
    "status": ["open", "closed", "open", "open", "closed"],
    "flag": [True, False, True, None, False],
    "day": [dt.date(2024, 1, d) for d in (1, 2, 3, 4, 5)],
    "first name": ["Anna", "O'Brien", "Zoë", "Anna", "Ben"],
    "tags": [["a"], [], None, ["b"], ["c"]],
}, schema=SCHEMA)


def matching(text: str) -> list[int]:
    """Run the rendered filter in DuckDB; return the matching ``n`` values."""
    sql, params = render_sql(parse_filter(text, SCHEMA).node)
    con = duckdb.connect()
    con.register("t", DATA)
    return [r[0] for r in con.execute(f"SELECT n FROM t WHERE {sql} ORDER BY n", params).fetchall()]


def test_comparison_parses_to_ast() -> None:
    f = parse_filter("amount > 1000", SCHEMA)
    assert f.node == Compare("amount", ">", 1000)
    assert f.columns == ("amount",)


def test_precedence_and_binds_tighter_than_or() -> None:
    node = parse_filter("status = 'open' or country = 'FR' and amount >= 10", SCHEMA).node
    assert node == BoolOp("OR", (Compare("status", "=", "open"),
                                 BoolOp("AND", (Compare("country", "=", "FR"), Compare("amount", ">=", 10)))))


def test_in_not_in_is_null_and_not() -> None:
    assert parse_filter("country in ('DE','FR')", SCHEMA).node == InList("country", ("DE", "FR"))
    assert parse_filter("country NOT IN ('DE')", SCHEMA).node == InList("country", ("DE",), negated=True)
    assert parse_filter("amount is null", SCHEMA).node == IsNull("amount")
    assert parse_filter("amount IS NOT NULL", SCHEMA).node == IsNull("amount", negated=True)
    assert parse_filter("not (amount < 3)", SCHEMA).node == Not(Compare("amount", "<", 3))


@pytest.mark.parametrize(("text", "expected"), [
    ("amount > 1000", [2, 5]),
    ("country in ('DE','FR') and amount >= 10", [2]),
    ("status = 'open'", [1, 3, 4]),
    ("amount is null", [4]),
    ("country is not null and not (country = 'DE')", [2, 3]),
    ("country != 'DE'", [2, 3]),  # SQL semantics: null country is not selected
    ("flag", [1, 3]),
    ("flag = false or n == 1", [1, 2, 5]),
    ("day >= '2024-01-04'", [4, 5]),
    ("\"first name\" = 'O''Brien'", [2]),
    ("n <> 2 and n < 4.5", [1, 3, 4]),
    ("tags is null", [3]),
    ("(n = 1 or n = 2) and (status = 'open')", [1]),
])
def test_rendered_sql_selects_the_right_rows(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


def test_values_are_bound_as_parameters_never_spliced() -> None:
    sql, params = render_sql(parse_filter("status = 'x'' OR 1=1 --'", SCHEMA).node)
    assert "OR 1=1" not in sql
    assert params == ["x' OR 1=1 --"]
    assert matching("status = 'x'' OR 1=1 --'") == []


@pytest.mark.parametrize(("text", "position", "words"), [
    ("amount >> 1000", 8, "expected a value"),
    ("amount > ", 9, "expected a value"),
    ("country in ('DE', 'FR'", 22, "expected ')'"),
    ("status = 'open", 9, "unterminated quote"),
    ("amount > 1000 amount", 14, "expected 'and', 'or'"),
    ("", 0, "empty"),
    ("amount = null", 9, "is null"),
    ("amount ; drop", 7, "unexpected character"),
    ("(amount > 1", 11, "expected ')'"),
])
def test_syntax_errors_show_where(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_filter(text, SCHEMA)
    assert err.value.position == position
    assert words in str(err.value)
    assert "^" in str(err.value) and "does not parse" in str(err.value)


def test_unknown_column_is_named() -> None:
    with pytest.raises(InvalidInput, match="unknown column 'amout'") as err:
        parse_filter("amout > 3", SCHEMA)
    assert err.value.column == "amout"


@pytest.mark.parametrize(("text", "words"), [
    ("amount > 'big'", "is double (number); 'big' is text"),
    ("country = 3", "is string (text); 3 is number"),
    ("flag = 1", "is bool (boolean)"),
    ("flag > true", "only = and != compare it"),
    ("day > '2024-13-01'", "is not YYYY-MM-DD"),
    ("day > 3", "give it as quoted ISO text"),
    ("tags = 'a'", "only test with 'is null'"),
    ("amount", "expected a comparison"),
])
def test_literal_types_are_checked(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match="does not parse") as err:
        parse_filter(text, SCHEMA)
    assert words in str(err.value)
