"""Issue 26's table of secrets that must go and look-alikes that must stay (tests/data/secrets.json),
through the real ``track()`` path into the local JSON output.

Every line the process logs is searched: the event lines, the metric lines and the tracker's own
warnings. The books are compared with what the output wrote: each tracked event is one line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker import stats

TABLE: dict[str, Any] = json.loads((Path(__file__).parents[1] / "data" / "secrets.json").read_text())
REDACTED = "[REDACTED]"
SECRET = "s3cr3t-value-0123"
# Keys come from the table as **{key: ...}; mypy would match such a dict against n and value.
track: Callable[..., None] = gyrinx_tracker.track


class _Lines(logging.Handler):
    """Every message logged anywhere in the process while the test runs."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r.getMessage()) for r in self.records if r.name == "gyrinx.tracker"]

    def everything(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)


@pytest.fixture
def lines() -> Iterator[_Lines]:
    """The console output (events and metric lines) with every logger's messages kept."""
    handler = _Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    gyrinx_tracker.configure(exporter="console", local_metrics=True, metric_interval=3600, handle_sigterm=False)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def _delivered(lines: _Lines) -> dict[str, Any]:
    """The one event line written, after the books agree with it; metrics flushed too."""
    assert gyrinx_tracker.flush(10)
    events = lines.events()
    assert len(events) == 1 == stats()["exported"] == stats()["emitted"]
    return events[0]


def _assert_nowhere(lines: _Lines, secrets: list[str]) -> None:
    text = lines.everything()
    for secret in secrets:
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text  # nor escaped inside a JSON line


GO = TABLE["must_go"]


class TestSecretsMustGo:
    @pytest.mark.parametrize("row", [row for row in GO if row["where"] == "value"], ids=lambda row: row["id"])
    def test_a_secret_in_a_label_value_never_reaches_the_output(self, lines: _Lines, row: dict[str, Any]) -> None:
        """The label's secret parts are replaced; what the table expects is what is delivered."""
        track("api_call", note=row["input"], method="GET")
        event = _delivered(lines)
        if "expected" in row:
            assert event["labels"] == {"note": row["expected"], "method": "GET"}
        _assert_nowhere(lines, row["secrets"])

    @pytest.mark.parametrize("row", [row for row in GO if row["where"] == "key"], ids=lambda row: row["id"])
    def test_a_secret_used_as_a_label_key_never_reaches_the_output(self, lines: _Lines, row: dict[str, Any]) -> None:
        """A credential passed as a key is checked like a value; the other labels are kept."""
        track("api_call", **{row["input"]: 7, "method": "GET"})
        event = _delivered(lines)
        assert event["labels"]["method"] == "GET"
        assert REDACTED in "".join(event["labels"])
        _assert_nowhere(lines, row["secrets"])

    @pytest.mark.parametrize("row", [row for row in GO if row["where"] == "name"], ids=lambda row: row["id"])
    def test_a_secret_passed_as_the_event_name_never_reaches_the_output(self, lines: _Lines,
                                                                          row: dict[str, Any]) -> None:
        """The name is checked before it is repaired: the event is recorded as ``redacted_event_name``."""
        track(row["input"], method="GET")
        event = _delivered(lines)
        assert (event["event"], event["labels"]) == ("redacted_event_name", {"method": "GET"})
        _assert_nowhere(lines, row["secrets"])

    @pytest.mark.parametrize("key", TABLE["key_names_must_go"])
    def test_a_key_naming_a_secret_hides_its_value(self, lines: _Lines, key: str) -> None:
        """Issue 26's key names (``stripe_key`` ... ``mfa_code``) and their spellings are redacted."""
        track("api_call", **{key: SECRET, "method": "GET"})
        assert _delivered(lines)["labels"] == {key: REDACTED, "method": "GET"}
        _assert_nowhere(lines, [SECRET])


class TestLookAlikesMustStay:
    @pytest.mark.parametrize("key", TABLE["key_names_must_stay"])
    def test_a_key_that_only_looks_secret_keeps_its_value(self, lines: _Lines, key: str) -> None:
        """Key words are matched as words, and a last word that describes the secret keeps the key."""
        track("api_call", **{key: "kept-value"})
        assert _delivered(lines)["labels"] == {key: "kept-value"}

    @pytest.mark.parametrize("value", TABLE["values_must_stay"])
    def test_a_value_that_only_looks_secret_is_kept(self, lines: _Lines, value: str) -> None:
        """Look-alikes of tokens, cards, URLs and structures pass unchanged, and unwarned."""
        track("api_call", note=value)
        assert _delivered(lines)["labels"] == {"note": value}
        assert not [r for r in lines.records if r.name == "gyrinx_tracker" and r.levelno >= logging.WARNING]


class TestTheTable:
    def test_every_row_names_what_must_not_appear(self) -> None:
        """Each secret row lists its secrets, and each secret is in its input (a row cannot pass vacuously)."""
        assert len(GO) >= 50
        for row in GO:
            assert row["secrets"], row["id"]
            assert all(secret in row["input"] or json.dumps(secret)[1:-1] in row["input"]
                       for secret in row["secrets"]), row["id"]
        assert len({row["id"] for row in GO}) == len(GO)
