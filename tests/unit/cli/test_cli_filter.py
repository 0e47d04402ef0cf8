"""The filter parser's accepted and rejected filters (NOT (f) as the exact complement of f, over
real inputs, is tests/integration/cli/test_cli_filter.py)."""

from __future__ import annotations

import pytest

from gyrinx_tracker._cli._filter import And, Compare, Everything, FilterError, Global, Node, Not, Or, parse


def show(node: Node) -> str:
    """A compact, unambiguous rendering of a tree, for the table below."""
    if isinstance(node, Compare):
        return f"{'.'.join(node.path)}{node.op}{node.value}"
    if isinstance(node, Global):
        return f"<{node.value}>"
    if isinstance(node, Not):
        return f"NOT({show(node.operand)})"
    if isinstance(node, (And, Or)):
        name = "AND" if isinstance(node, And) else "OR"
        return f"{name}({', '.join(show(o) for o in node.operands)})"
    assert isinstance(node, Everything)
    return "*"


ACCEPTED = [
    ("", "*"),
    ('jsonPayload.event="api_call"', "jsonPayload.event=api_call"),
    ('jsonPayload.event="api_call" jsonPayload.labels.endpoint="/api/v1/fighters"',
     "AND(jsonPayload.event=api_call, jsonPayload.labels.endpoint=/api/v1/fighters)"),
    ('resource.type = "cloud_run_revision"', "resource.type=cloud_run_revision"),
    ("a=1 AND b=2", "AND(a=1, b=2)"),
    ("a=1 OR b=2 AND c=3", "AND(OR(a=1, b=2), c=3)"),
    ("a=1 OR NOT b=2 AND NOT c=3 OR d=4", "AND(OR(a=1, NOT(b=2)), OR(NOT(c=3), d=4))"),
    ("-a=1", "NOT(a=1)"),
    ("a>=-1", "a>=-1"),
    ("-(a=1 OR b=2)", "NOT(OR(a=1, b=2))"),
    ("NOT (a=1)", "NOT(a=1)"),
    ("(a=1)", "a=1"),
    ("a!=1 a<1 a<=1 a>1 a>=1 a:1", "AND(a!=1, a<1, a<=1, a>1, a>=1, a:1)"),
    ('a=~"^x.*" a!~"y"', "AND(a=~^x.*, a!~y)"),
    ("jsonPayload.labels:*", "jsonPayload.labels:*"),
    ('timestamp>="2026-11-29T10:00:00Z"', "timestamp>=2026-11-29T10:00:00Z"),
    ('labels."k.with.dots"="v"', "labels.k.with.dots=v"),
    ('"free text"', "<free text>"),
    ("word", "<word>"),
    ("severity>=WARNING and", "AND(severity>=WARNING, <and>)"),
    ('a="quote \\" inside"', 'a=quote " inside'),
    ("gyrinx-prod", "<gyrinx-prod>"),
]


REJECTED = [
    ("a=", 2, "expected a value after '='"),
    ("a=1 AND", 7, "expected a field or a value, found end of filter"),
    ("(a=1", 4, "expected ')' to close the '(' at column 1"),
    ("a=1)", 3, "unexpected ')'"),
    ("()", 1, "empty parentheses"),
    ('a="open', 2, "unterminated string"),
    ("a=1 OR OR b=2", 7, "expected a field or a value, found 'OR'"),
    ("NOT", 3, "expected a field or a value"),
    ("a ! b", 2, "'!' must be followed by '=' or '~'"),
    ('SEARCH("x")', 6, "functions such as SEARCH(...) are not supported"),
    ('a=("x" OR "y")', 2, "value groups"),
    ('a=~"("', 3, "bad regular expression"),
    ("a..b=1", 0, "empty part in field name"),
    ("= 1", 0, "expected a field or a value, found '='"),
]


class TestParser:
    @pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[t or "(empty)" for t, _ in ACCEPTED])
    def test_accepted_filters_parse_to_the_expected_tree(self, text: str, expected: str) -> None:
        """Precedence (NOT, then OR, then AND), implicit AND, the - prefix and quoting parse as in Cloud Logging."""
        assert show(parse(text)) == expected

    @pytest.mark.parametrize(("text", "column", "message"), REJECTED, ids=[t for t, _, _ in REJECTED])
    def test_rejected_filters_name_the_problem_and_its_column(self, text: str, column: int, message: str) -> None:
        """A syntax error is a FilterError whose column points at the token that does not fit."""
        with pytest.raises(FilterError) as caught:
            parse(text)
        assert caught.value.column == column
        assert message in caught.value.message

    def test_the_rendered_error_puts_a_caret_under_the_column(self) -> None:
        """render() prints the filter and a caret aligned with the column of the error."""
        with pytest.raises(FilterError) as caught:
            parse("a=1 OR OR b=2")
        lines = caught.value.render("a=1 OR OR b=2").splitlines()
        assert lines[1].index("OR OR") + 3 == lines[2].index("^")
