"""The Cloud Logging query language's common subset: lexer and parser into a small tree.

Supported, with Cloud Logging's meaning: comparisons ``field OP value`` with ``= != < <= > >=``,
``:`` (has), ``=~``/``!~`` (regular expressions); ``AND``, ``OR``, ``NOT`` and the ``-`` prefix;
parentheses; juxtaposition as an implicit ``AND``; a bare value as a global restriction (any
field has it). As in Cloud Logging, ``NOT`` binds tightest, then ``OR``, then ``AND``:
``a OR NOT b AND c`` is ``(a OR (NOT b)) AND c``. Keywords are upper case; lower-case ``and`` is
a value. Not supported (a clear error says so): functions (``SEARCH(...)``, ``sample(...)``) and
value groups (``field = ("a" OR "b")``).

A syntax error raises ``FilterError`` carrying the column, so the caller can print a caret
under the filter. So does a value the field cannot hold: ``timestamp>="yesterday"`` or
``severity>=LOUD`` would otherwise match nothing and look like an empty log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gyrinx_tracker._cli._inputs import parse_time

OPERATORS = ("=~", "!~", "!=", "<=", ">=", "=", "<", ">", ":")
SEVERITIES = {"DEFAULT": 0, "DEBUG": 100, "INFO": 200, "NOTICE": 300, "WARNING": 400, "ERROR": 500,
              "CRITICAL": 600, "ALERT": 700, "EMERGENCY": 800}
TIME_FIELDS = frozenset({("timestamp",), ("receiveTimestamp",)})
_VALUE_CHECKED_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_KEYWORDS = ("AND", "OR", "NOT")
_WORD_STOP = set(' \t\r\n()"=<>!:')


class FilterError(ValueError):
    """A filter that does not parse; ``column`` is 0-based into the filter text."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def render(self, text: str) -> str:
        """The message, the filter, and a caret under the offending column."""
        return f"error: {self.message} at column {self.column + 1}\n  {text}\n  {' ' * self.column}^"


@dataclass(frozen=True)
class Token:
    """One lexeme: kind is ``word``, ``string``, ``op``, ``(``, ``)``, ``-``, a keyword, or ``end``."""

    kind: str
    text: str
    column: int
    path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Compare:
    """``field OP value``; ``path`` is the dotted field split into its parts."""

    path: tuple[str, ...]
    op: str
    value: str
    quoted: bool
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Global:
    """A bare value: true when any field of the entry has it."""

    value: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Everything:
    """The empty filter, which matches every entry (as an empty query does in Cloud Logging)."""


Node = Compare | Global | Not | And | Or | Everything


def parse(text: str) -> Node:
    """The tree for ``text``; raises ``FilterError`` pointing at the first thing that does not fit."""
    parser = _Parser(tokenize(text))
    if parser.peek().kind == "end":
        return Everything()
    node = parser.conjunction()
    end = parser.peek()
    if end.kind != "end":
        raise FilterError(f"unexpected {_describe(end)}", end.column)
    return node


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token at its length."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token(char, char, i))
            i += 1
        elif char == '"':
            value, end = _string(text, i)
            tokens.append(Token("string", value, i))
            i = end
        elif op := next((op for op in OPERATORS if text.startswith(op, i)), None):
            tokens.append(Token("op", op, i))
            i += len(op)
        elif char == "-" and (not tokens or tokens[-1].kind != "op"):
            tokens.append(Token("-", "-", i))
            i += 1
        elif char == "!":
            raise FilterError("'!' must be followed by '=' or '~'", i)
        else:
            token, i = _word(text, i)
            tokens.append(token)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    """A double-quoted string with backslash escapes; returns its value and the index after it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(text):
            escaped = text[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(escaped, escaped))
            i += 2
            continue
        out.append(char)
        i += 1
    raise FilterError("unterminated string (missing closing \")", start)


def _word(text: str, start: int) -> tuple[Token, int]:
    """A bare word, or a field path whose parts may be quoted: ``jsonPayload.labels."a.b"``."""
    parts: list[str] = []
    current: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if char == '"' and i > start and text[i - 1] == ".":
            value, i = _string(text, i)
            current.append(value)
            continue
        if char in _WORD_STOP:
            break
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    raw = text[start:i]
    kind = raw if raw in _KEYWORDS else "word"
    return Token(kind, raw, start, tuple(parts)), i


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "end of filter"
    return f"{token.text!r}" if token.kind != "string" else f'"{token.text}"'


class _Parser:
    """Recursive descent: conjunction := disjunction {[AND] disjunction}; disjunction := unary {OR unary}."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._at = 0

    def peek(self) -> Token:
        return self._tokens[self._at]

    def _take(self) -> Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def conjunction(self) -> Node:
        operands = [self.disjunction()]
        while self.peek().kind not in ("end", ")"):
            if self.peek().kind == "AND":
                self._take()
            operands.append(self.disjunction())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def disjunction(self) -> Node:
        operands = [self.unary()]
        while self.peek().kind == "OR":
            self._take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def unary(self) -> Node:
        token = self.peek()
        if token.kind in ("NOT", "-"):
            self._take()
            return Not(self.unary())
        if token.kind == "(":
            self._take()
            if self.peek().kind == ")":
                raise FilterError("empty parentheses", self.peek().column)
            inner = self.conjunction()
            if self.peek().kind != ")":
                raise FilterError(f"expected ')' to close the '(' at column {token.column + 1}, "
                                  f"found {_describe(self.peek())}", self.peek().column)
            self._take()
            return inner
        return self.comparison()

    def comparison(self) -> Node:
        token = self._take()
        if token.kind == "string":
            return Global(token.text)
        if token.kind != "word":
            raise FilterError(f"expected a field or a value, found {_describe(token)}", token.column)
        if self.peek().kind == "(":
            raise FilterError(f"functions such as {token.text}(...) are not supported", self.peek().column)
        if self.peek().kind != "op":
            return Global(token.text)
        if any(not part for part in token.path):
            raise FilterError(f"empty part in field name {token.text!r}", token.column)
        op = self._take()
        value_column = self.peek().column
        compare = Compare(token.path, op.text, *self._value(op))
        _check_value(compare, value_column)
        return compare

    def _value(self, op: Token) -> tuple[str, bool, re.Pattern[str] | None]:
        token = self._take()
        if token.kind == "(":
            raise FilterError("value groups such as field=(\"a\" OR \"b\") are not supported; "
                              "write field=\"a\" OR field=\"b\"", token.column)
        if token.kind not in ("word", "string"):
            raise FilterError(f"expected a value after {op.text!r}, found {_describe(token)}", token.column)
        if op.text not in ("=~", "!~"):
            return token.text, token.kind == "string", None
        try:
            return token.text, True, re.compile(token.text)
        except re.error as error:
            raise FilterError(f"bad regular expression: {error.msg}", token.column) from None


def _check_value(compare: Compare, column: int) -> None:
    """Refuse a value the field can never compare with: a time that is not one, a severity that does not exist."""
    if compare.op not in _VALUE_CHECKED_OPS:
        return
    if compare.path in TIME_FIELDS and parse_time(compare.value) is None:
        raise FilterError(f"{compare.value!r} is not an RFC 3339 time or a date, such as 2026-11-29T10:00:00Z "
                          "or 2026-11-29", column)
    if compare.path == ("severity",) and compare.value.upper() not in SEVERITIES and not compare.value.isdigit():
        raise FilterError(f"{compare.value!r} is not a severity; one of {', '.join(SEVERITIES)} "
                          "or a number (INFO is 200)", column)


def time_values(node: Node) -> list[str]:
    """The values compared with a time field anywhere in the tree (to tell the user how each is read)."""
    if isinstance(node, Compare):
        return [node.value] if node.path in TIME_FIELDS and node.op in _VALUE_CHECKED_OPS else []
    if isinstance(node, Not):
        return time_values(node.operand)
    if isinstance(node, (And, Or)):
        return [value for operand in node.operands for value in time_values(operand)]
    return []
