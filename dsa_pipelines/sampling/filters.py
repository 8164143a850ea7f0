"""Row filters for sampling: a small predicate language, parsed, type-checked, bound.

A filter is a boolean expression over a table's columns::

    amount > 1000
    country in ('DE', 'FR') and amount >= 10
    status = 'open' or not (flag)
    note is null
    day >= '2024-01-01' and "first name" != 'Anna'

Grammar (keywords are case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | predicate
    predicate  := column op literal
                | column ["not"] "in" "(" literal ("," literal)* ")"
                | column "is" ["not"] "null"
                | column                       -- a boolean column on its own
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    column     := name | "double-quoted name"  (``""`` inside quotes is one ``"``)
    literal    := number | 'text' (``''`` is one quote) | true | false

:func:`parse_filter` turns the text into an AST, checking every column against the
table's Arrow schema and every literal against its column's type; :func:`render_sql`
turns the AST into a DuckDB ``WHERE`` fragment with quoted identifiers and ``?``
parameters. User text never reaches SQL as text.

Comparisons follow SQL: a comparison with a null value is not true, so
``status != 'open'`` does not select rows whose status is null.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pyarrow as pa

from dsa_pipelines.storage import InvalidInput

COMPARISONS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
Literal = int | float | str | bool | dt.date | dt.datetime


# ----------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Compare:
    """``column op value``."""

    column: str
    op: str  # SQL operator: = <> < <= > >=
    value: Literal


@dataclass(frozen=True)
class InList:
    """``column [not] in (values)``."""

    column: str
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """``column is [not] null``."""

    column: str
    negated: bool = False


@dataclass(frozen=True)
class IsTrue:
    """A boolean column on its own."""

    column: str


@dataclass(frozen=True)
class Not:
    """``not operand``."""

    operand: Node


@dataclass(frozen=True)
class BoolOp:
    """``operands[0] and/or operands[1] ...``."""

    op: str  # "AND" | "OR"
    operands: tuple[Node, ...]


Node = Compare | InList | IsNull | IsTrue | Not | BoolOp


@dataclass(frozen=True)
class Filter:
    """A parsed, validated filter: its source text, AST and the columns it reads."""

    text: str
    node: Node
    columns: tuple[str, ...]


# ----------------------------------------------------------------------------- tokens
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | column | keyword | op | punct | end
    value: object
    pos: int
    text: str


def _fail(text: str, pos: int, problem: str) -> InvalidInput:
    caret = " " * pos + "^"
    return InvalidInput(f"filter {text!r} does not parse at position {pos}: {problem}\n  {text}\n  {caret}",
                        filter=text, position=pos)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] in "'\"":
                raise _fail(text, pos, "unterminated quote")
            raise _fail(text, pos, f"unexpected character {text[pos]!r}")
        kind, raw = m.lastgroup, m.group()
        if kind == "number":
            value: object = float(raw) if re.search(r"[.eE]", raw) else int(raw)
            out.append(_Token("number", value, pos, raw))
        elif kind == "string":
            out.append(_Token("string", raw[1:-1].replace("''", "'"), pos, raw))
        elif kind == "quoted":
            out.append(_Token("column", raw[1:-1].replace('""', '"'), pos, raw))
        elif kind == "name":
            low = raw.lower()
            out.append(_Token("keyword", low, pos, raw) if low in KEYWORDS else _Token("column", raw, pos, raw))
        elif kind in ("op", "punct"):
            out.append(_Token(kind, raw, pos, raw))
        pos = m.end()
    out.append(_Token("end", None, len(text), "end of filter"))
    return out


# ----------------------------------------------------------------------------- typing
def column_kind(dtype: pa.DataType) -> str:
    """The kind of value a column holds: number, text, boolean, date, timestamp or other."""
    if pa.types.is_dictionary(dtype):
        return column_kind(dtype.value_type)
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "number"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return "text"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "timestamp"
    return "other"


class _Parser:
    def __init__(self, text: str, schema: pa.Schema) -> None:
        self.text = text
        self.schema = schema
        self.toks = _tokens(text)
        self.i = 0
        self.columns: dict[str, None] = {}

    # helpers
    def peek(self) -> _Token:
        return self.toks[self.i]

    def take(self) -> _Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.value in words

    def expect_kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise self.error(f"expected '{word}', found {self.peek().text!r}")
        self.take()

    def expect_punct(self, ch: str) -> None:
        tok = self.peek()
        if tok.kind != "punct" or tok.value != ch:
            raise self.error(f"expected '{ch}', found {tok.text!r}")
        self.take()

    def error(self, problem: str, tok: _Token | None = None) -> InvalidInput:
        return _fail(self.text, (tok or self.peek()).pos, problem)

    # grammar
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("the filter is empty")
        node = self.expr()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.peek().text!r} (expected 'and', 'or' or the end)")
        return node

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def not_expr(self) -> Node:
        if self.is_kw("not"):
            self.take()
            return Not(self.not_expr())
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "(":
            self.take()
            node = self.expr()
            self.expect_punct(")")
            return node
        return self.predicate()

    def column(self) -> tuple[str, str, _Token]:
        tok = self.take()
        if tok.kind != "column":
            raise self.error(f"expected a column name, found {tok.text!r}", tok)
        name = str(tok.value)
        if name not in self.schema.names:
            raise InvalidInput(
                f"filter {self.text!r}: unknown column {name!r} at position {tok.pos} "
                f"(columns: {', '.join(self.schema.names)})", filter=self.text, position=tok.pos, column=name)
        self.columns[name] = None
        return name, column_kind(self.schema.field(name).type), tok

    def predicate(self) -> Node:
        name, kind, col_tok = self.column()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            op = COMPARISONS[str(tok.value)]
            value = self.literal(name, kind)
            if kind == "boolean" and op not in ("=", "<>"):
                raise self.error(f"column {name!r} is boolean: only = and != compare it", tok)
            if kind == "other":
                raise self.error(f"column {name!r} has type {self.schema.field(name).type}, which filters can "
                                 "only test with 'is null' / 'is not null'", col_tok)
            return Compare(name, op, value)
        if self.is_kw("is"):
            self.take()
            negated = self.is_kw("not")
            if negated:
                self.take()
            self.expect_kw("null")
            return IsNull(name, negated)
        if self.is_kw("not", "in"):
            negated = self.is_kw("not")
            if negated:
                self.take()
            self.expect_kw("in")
            self.expect_punct("(")
            values = [self.literal(name, kind)]
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.take()
                values.append(self.literal(name, kind))
            self.expect_punct(")")
            if kind == "other":
                raise self.error(f"column {name!r} has type {self.schema.field(name).type}, which filters can "
                                 "only test with 'is null' / 'is not null'", col_tok)
            return InList(name, tuple(values), negated)
        if kind == "boolean":
            return IsTrue(name)
        raise self.error(f"expected a comparison (=, !=, <, <=, >, >=, in, is null) after column {name!r}, "
                         f"found {tok.text!r}")

    def literal(self, column: str, kind: str) -> Literal:
        tok = self.take()
        if tok.kind == "keyword" and tok.value == "null":
            raise self.error("compare with null using 'is null' or 'is not null'", tok)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            value: object = tok.value == "true"
            given = "boolean"
        elif tok.kind == "number":
            value, given = tok.value, "number"
        elif tok.kind == "string":
            value, given = tok.value, "text"
        else:
            raise self.error(f"expected a value (number, 'text', true or false), found {tok.text!r}", tok)
        ctype = self.schema.field(column).type
        if kind == "date" and given == "text":
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                raise self.error(f"column {column!r} is a date: {tok.text} is not YYYY-MM-DD", tok) from None
        if kind == "timestamp" and given == "text":
            try:
                stamp = dt.datetime.fromisoformat(str(value))
            except ValueError:
                raise self.error(f"column {column!r} is a timestamp: {tok.text} is not ISO-8601", tok) from None
            if getattr(ctype, "tz", None) and stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.UTC)
            return stamp
        if kind in ("number", "text", "boolean") and given != kind:
            raise self.error(f"column {column!r} is {ctype} ({kind}); {tok.text} is {given}", tok)
        if kind in ("date", "timestamp"):
            raise self.error(f"column {column!r} is a {kind}: give it as quoted ISO text, e.g. '2024-01-31'", tok)
        return value  # type: ignore[return-value]


def parse_filter(text: str, schema: pa.Schema) -> Filter:
    """Parse and validate a filter against a table's schema.

    Args:
        text: The predicate, e.g. ``"country in ('DE','FR') and amount >= 10"``.
        schema: The table's Arrow schema (the known columns and their types).

    Returns:
        The validated :class:`Filter`.

    Raises:
        InvalidInput: the text does not parse (message shows the position with a caret),
            names an unknown column, or compares a column with a value of another type.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"a filter must be text, got {type(text).__name__}", filter=text)
    parser = _Parser(text, schema)
    node = parser.parse()
    return Filter(text, node, tuple(parser.columns))


def quote_identifier(name: str) -> str:
    """A column name as a DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def render_sql(node: Node) -> tuple[str, list[Literal]]:
    """Render a filter AST as a DuckDB boolean expression with ``?`` parameters.

    Returns:
        (SQL text, parameter values in order).
    """
    params: list[Literal] = []

    def walk(n: Node) -> str:
        if isinstance(n, Compare):
            params.append(n.value)
            return f"{quote_identifier(n.column)} {n.op} ?"
        if isinstance(n, InList):
            params.extend(n.values)
            marks = ", ".join("?" for _ in n.values)
            return f"{quote_identifier(n.column)} {'NOT IN' if n.negated else 'IN'} ({marks})"
        if isinstance(n, IsNull):
            return f"{quote_identifier(n.column)} IS {'NOT NULL' if n.negated else 'NULL'}"
        if isinstance(n, IsTrue):
            return f"{quote_identifier(n.column)}"
        if isinstance(n, Not):
            return f"(NOT {walk(n.operand)})"
        return "(" + f" {n.op} ".join(walk(o) for o in n.operands) + ")"

    return walk(node), params
