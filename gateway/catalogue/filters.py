"""Metadata filters: a structured, validated condition list and its small text form.

A filter is a conjunction of conditions on `category`, `brand` or `labels.KEY`:

    category == "coat" and labels.season in ["ss24", "aw24"] and brand != "acme" and has labels.sale

Operators: `==`, `!=`, `in [...]`, `not in [...]`, `has FIELD` (a label is present, or category /
brand is not empty). A missing label reads as the empty string, so `labels.colour != "red"` also
matches items without a colour. Values are quoted strings ('...' or "..." with backslash escapes).
The engine's own expression language is never exposed: conditions are rendered here, field names
come from a fixed set, label keys are restricted to [A-Za-z0-9_-] and every value is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from asen_contract.errors import InvalidInput, LimitExceeded
from gateway.catalogue.metadata import check_label_key, check_value

MAX_CONDITIONS = 16
MAX_VALUES = 256
MAX_EXPRESSION_LENGTH = 8192
_SCALAR_FIELDS = ("category", "brand")


class Op(Enum):
    EQUALS = "=="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "not in"
    HAS = "has"


@dataclass(frozen=True)
class Condition:
    field: str  # "category", "brand" or "labels.KEY"
    op: Op
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemFilter:
    conditions: tuple[Condition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.conditions)


def check_filter(conditions: Sequence[Condition]) -> ItemFilter:
    """A validated filter; InvalidInput names the first problem and its condition number.

    Bounded in all, whatever its form: the structured form is held to the text form's size
    (every value is compared with every row the engine scans)."""
    if len(conditions) > MAX_CONDITIONS:
        raise LimitExceeded(
            f"filter has {len(conditions)} conditions; the limit is {MAX_CONDITIONS}"
        )
    values = sum(len(c.values) for c in conditions)
    if values > MAX_VALUES:
        raise LimitExceeded(f"filter has {values} values in all; the limit is {MAX_VALUES}")
    characters = sum(len(v) for c in conditions for v in c.values)
    if characters > MAX_EXPRESSION_LENGTH:
        raise LimitExceeded(
            f"filter has {characters} characters of values in all; the limit is "
            f"{MAX_EXPRESSION_LENGTH}"
        )
    for number, condition in enumerate(conditions, start=1):
        where = f"filter condition {number} ({condition.field or 'no field'})"
        _check_field(condition.field, where)
        if condition.op is Op.HAS:
            if condition.values:
                raise InvalidInput(f"{where}: 'has' takes no values")
        elif condition.op in (Op.EQUALS, Op.NOT_EQUALS):
            if len(condition.values) != 1:
                raise InvalidInput(f"{where}: {condition.op.value} takes exactly one value")
        elif not condition.values:
            raise InvalidInput(f"{where}: {condition.op.value} needs at least one value")
        for value in condition.values:
            check_value(value, f"{where}: value")
    return ItemFilter(tuple(conditions))


def _check_field(field: str, where: str) -> None:
    if field in _SCALAR_FIELDS:
        return
    if field.startswith("labels."):
        check_label_key(field.removeprefix("labels."), f"{where}: label")
        return
    raise InvalidInput(f"{where}: unknown field; use category, brand or labels.KEY")


# -- the text form ----------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|\[|\]|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.-]*)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


def parse_filter(text: str) -> ItemFilter:
    """Parse the text form; InvalidInput says where and what was expected."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise LimitExceeded(
            f"filter expression is {len(text)} characters; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    tokens = _tokenize(text)
    if not tokens:
        return ItemFilter()
    parser = _Parser(tokens, text)
    conditions = [parser.condition()]
    while not parser.done():
        parser.expect_word("and")
        conditions.append(parser.condition())
    return check_filter(conditions)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            column = len(text[position:]) - len(text[position:].lstrip()) + position
            raise InvalidInput(
                f"filter: unexpected character {text[column]!r} at column {column + 1}"
            )
        kind = match.lastgroup or ""
        start = match.start(kind)
        tokens.append((kind, match.group(kind), start))
        position = match.end()
    return tokens


def _unquote(literal: str, column: int) -> str:
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            escaped = body[i + 1]
            if escaped not in _ESCAPES:
                raise InvalidInput(f"filter: unknown escape \\{escaped} at column {column + i + 2}")
            out.append(_ESCAPES[escaped])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], text: str) -> None:
        self._tokens = tokens
        self._text = text
        self._next = 0

    def done(self) -> bool:
        return self._next >= len(self._tokens)

    def _take(self, expected: str) -> tuple[str, str, int]:
        if self.done():
            raise InvalidInput(f"filter: expected {expected} at the end of the expression")
        token = self._tokens[self._next]
        self._next += 1
        return token

    def _fail(self, token: tuple[str, str, int], expected: str) -> InvalidInput:
        return InvalidInput(
            f"filter: expected {expected} at column {token[2] + 1}, got {token[1]!r}"
        )

    def expect_word(self, word: str) -> None:
        token = self._take(repr(word))
        if token[0] != "word" or token[1].lower() != word:
            raise self._fail(token, repr(word))

    def condition(self) -> Condition:
        token = self._take("a field")
        if token[0] == "word" and token[1].lower() in ("has", "exists"):
            field = self._field()
            return Condition(field, Op.HAS)
        self._next -= 1
        field = self._field()
        token = self._take("an operator")
        if token[0] == "op" and token[1] in ("==", "!="):
            op = Op.EQUALS if token[1] == "==" else Op.NOT_EQUALS
            return Condition(field, op, (self._string(),))
        if token[0] == "word" and token[1].lower() == "in":
            return Condition(field, Op.IN, self._list())
        if token[0] == "word" and token[1].lower() == "not":
            self.expect_word("in")
            return Condition(field, Op.NOT_IN, self._list())
        raise self._fail(token, "==, !=, in or not in")

    def _field(self) -> str:
        token = self._take("a field")
        if token[0] != "word":
            raise self._fail(token, "a field (category, brand or labels.KEY)")
        return token[1]

    def _string(self) -> str:
        token = self._take("a quoted value")
        if token[0] != "string":
            raise self._fail(token, "a quoted value")
        return _unquote(token[1], token[2])

    def _list(self) -> tuple[str, ...]:
        token = self._take("[")
        if token[1] != "[":
            raise self._fail(token, "[")
        values = [self._string()]
        while True:
            token = self._take("',' or ']'")
            if token[1] == "]":
                return tuple(values)
            if token[1] != ",":
                raise self._fail(token, "',' or ']'")
            values.append(self._string())


# -- rendering for the engine -----------------------------------------------------------------
def to_engine_expression(item_filter: ItemFilter) -> str:
    """The Milvus boolean expression of a validated filter ("" for no condition)."""
    return " and ".join(_render(c) for c in item_filter.conditions)


def quote(value: str) -> str:
    """A Milvus string literal: double-quoted, backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render(condition: Condition) -> str:
    if condition.field.startswith("labels."):
        return _render_label(condition)
    field = condition.field
    values = ", ".join(quote(v) for v in condition.values)
    if condition.op is Op.HAS:
        return f'{field} != ""'
    if condition.op is Op.EQUALS:
        return f"{field} == {values}"
    if condition.op is Op.NOT_EQUALS:
        return f"{field} != {values}"
    if condition.op is Op.IN:
        return f"{field} in [{values}]"
    return f"{field} not in [{values}]"


def _render_label(condition: Condition) -> str:
    """Labels live in a JSON field; a missing key reads as "" (so != matches it)."""
    path = f'labels["{condition.field.removeprefix("labels.")}"]'
    present = f"exists {path}"
    if condition.op is Op.HAS:
        return f"({present})"
    equal_any = " or ".join(f"{path} == {quote(v)}" for v in condition.values)
    if condition.op in (Op.EQUALS, Op.IN):
        if "" in condition.values:
            return f"((not ({present})) or {equal_any})"
        return f"({equal_any})"
    differs = " and ".join(f"{path} != {quote(v)}" for v in condition.values)
    if "" in condition.values:
        return f"(({present}) and {differs})"
    return f"((not ({present})) or ({differs}))"
