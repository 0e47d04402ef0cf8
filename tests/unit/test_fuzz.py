"""Property-based fuzzing of labels: whatever the application passes, one valid event comes out.

Each test opens one capture and runs its Hypothesis examples inside it (a pipeline per example
would cost more than the examples themselves), so every example clears what the previous left.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gyrinx_tracker
from gyrinx_tracker import track as _typed_track
from gyrinx_tracker.testing import Capture, CapturedEvent, capture_events

# Labels are passed as **dict; mypy would match such a dict against n and value.
track: Callable[..., None] = _typed_track

ENTRY_BYTES = 256_000
REDACTED = "[REDACTED]"
# Keyword names track() itself takes: as label keys they are a TypeError in the caller, by Python.
PARAMETERS = frozenset({"event", "n", "value"})

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None)
# The narrower properties need fewer examples; the suite's total time matters.
QUICK = settings(FUZZ, max_examples=100)

AWKWARD_TEXT = st.sampled_from([
    "", " ", "\x00", "\x00" * 300, "\ud800", "a\udc80b", "😀" * 50, "é", "\\", '"', "\u2028",
    "Bearer abcdefgh12345", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "nan", "x" * 9000,
])
TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | AWKWARD_TEXT
KEYS = (TEXT | st.sampled_from(["password", "api_key", "endpoint", "user_id", "_x", "k" * 100])).filter(
    lambda key: key not in PARAMETERS)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | TEXT | st.binary(max_size=40)
    | st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)) | st.dates() | st.uuids()
    | st.decimals(allow_nan=True, allow_infinity=True) | st.timedeltas()
)
HASHABLE = st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.uuids()
VALUES = st.recursive(
    SCALARS,
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(KEYS | st.integers(), inner, max_size=4)
                   | st.frozensets(HASHABLE, max_size=4) | st.sets(HASHABLE, max_size=4)),
    max_leaves=10,
)
LABELS = st.dictionaries(KEYS, VALUES, max_size=10)


def run_once(captured: Capture, labels: dict[str, Any], *args: Any) -> CapturedEvent:
    """Track one call and return the one event it produced, checking the books balance."""
    captured.clear()
    before = gyrinx_tracker.stats()
    track("fuzz", *args, **labels)
    events = captured.events
    assert len(events) == 1, events
    after = gyrinx_tracker.stats()
    assert after["queued"] == after["in_flight"] == 0
    assert after["emitted"] == after["exported"] + after["dropped"]
    assert (after["emitted"] - before["emitted"], after["exported"] - before["exported"]) == (1, 1)
    assert after["dropped"] == 0, after["dropped_by_reason"]
    return events[0]


def check_body(event: CapturedEvent, max_labels: int) -> None:
    """The body is strict JSON (no NaN), valid UTF-8, under one entry, with bounded string keys."""
    ascii_text = json.dumps(event.body, allow_nan=False)
    utf8 = json.dumps(event.body, allow_nan=False, ensure_ascii=False).encode("utf-8")
    assert max(len(ascii_text), len(utf8)) < ENTRY_BYTES
    assert json.loads(ascii_text) == json.loads(utf8)
    assert event.event == "fuzz"
    assert all(type(key) is str and 0 < len(key) <= 64 for key in event.labels)
    assert len(event.labels) <= max_labels + 1


class TestArbitraryLabels:
    def test_any_labels_give_exactly_one_valid_event(self) -> None:
        """Arbitrary nested labels: track() returns, one event is exported, its body is strict JSON."""
        with capture_events(strict=False) as captured:
            @FUZZ
            @given(labels=LABELS)
            def check(labels: dict[str, Any]) -> None:
                event = run_once(captured, labels)
                check_body(event, max_labels=128)
                assert bool(event.labels) == bool(labels)

            check()

    def test_any_n_and_value_give_exactly_one_valid_event(self) -> None:
        """Arbitrary n and value: the event keeps a non-negative int n and a finite value or none."""
        with capture_events(strict=False) as captured:
            @FUZZ
            @given(n=SCALARS | VALUES, value=SCALARS | VALUES, labels=st.dictionaries(KEYS, SCALARS, max_size=3))
            def check(n: Any, value: Any, labels: dict[str, Any]) -> None:
                event = run_once(captured, labels, n, value)
                check_body(event, max_labels=128)
                assert type(event.n) is int and 0 <= event.n <= 2**53
                assert event.value is None or (type(event.value) in (int, float) and math.isfinite(event.value))

            check()

    def test_many_labels_are_bounded(self) -> None:
        """Wide label sets are cut to max_labels and the rest counted in ``_dropped_labels``."""
        with capture_events(strict=False, max_labels=8) as captured:
            @QUICK
            @given(labels=st.dictionaries(KEYS, SCALARS, min_size=0, max_size=40))
            def check(labels: dict[str, Any]) -> None:
                event = run_once(captured, labels)
                check_body(event, max_labels=8)
                kept = {key: value for key, value in event.labels.items() if key != "_dropped_labels"}
                assert len(kept) == min(len(labels), 8)
                assert event.labels.get("_dropped_labels", 0) == max(0, len(labels) - 8)

            check()


SAFE_KEYS = st.text("xyzq_0123456789", min_size=1, max_size=12).filter(lambda key: key != "_dropped_labels")
SAFE_TEXT = st.text(max_size=30).filter(
    lambda text: "earer " not in text and "eyJ" not in text and not text.startswith(("Basic ", "-----BEGIN ")))
PLAIN_SCALARS = (st.none() | st.booleans() | st.integers(-(2**53), 2**53)
                 | st.floats(allow_nan=False, allow_infinity=False) | SAFE_TEXT)


def plain_json(levels: int) -> st.SearchStrategy[Any]:
    """JSON-native values nested at most ``levels`` containers deep (the encoder keeps four)."""
    if levels == 0:
        return PLAIN_SCALARS
    inner = plain_json(levels - 1)
    return PLAIN_SCALARS | st.lists(inner, max_size=5) | st.dictionaries(SAFE_KEYS, inner, max_size=5)


class TestLossless:
    def test_plain_json_labels_arrive_unchanged(self) -> None:
        """Labels that already are plain JSON (and no credentials) are exported exactly as passed."""
        with capture_events(strict=False) as captured:
            @QUICK
            @given(labels=st.dictionaries(SAFE_KEYS, plain_json(3), max_size=10))
            def check(labels: dict[str, Any]) -> None:
                event = run_once(captured, labels)
                assert event.labels == labels
                assert json.dumps(event.labels, sort_keys=True) == json.dumps(labels, sort_keys=True)

            check()

    def test_plain_json_is_lossless_in_strict_mode_too(self) -> None:
        """Plain JSON labels are never reported as bad input, so strict mode does not raise."""
        with capture_events(strict=True) as captured:
            @QUICK
            @given(labels=st.dictionaries(SAFE_KEYS, plain_json(3), max_size=10))
            def check(labels: dict[str, Any]) -> None:
                assert run_once(captured, labels).labels == labels

            check()


SECRET_KEY_NAMES = st.sampled_from([
    "password", "Password", "user_password", "api_key", "apiKey", "X-Api-Key", "authorization",
    "Cookie", "session_id", "credit_card", "cardNumber", "cvv", "access_token", "client_secret",
    "private_key",
])
# No letter of SAFE_KEYS and no digit, so a secret cannot turn up by coincidence in a key or a number.
SECRET_TEXT = st.text("abcdefghijkmnoprstuvw", min_size=12, max_size=40)
OTHER_VALUES = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False)


class TestRedactionProperty:
    def test_secret_keyed_values_never_appear(self) -> None:
        """A value under a secret-looking key, at the top or nested, never appears in the event."""
        with capture_events(strict=False) as captured:
            @QUICK
            @given(key=SECRET_KEY_NAMES, secret=SECRET_TEXT, wrap=st.sampled_from(["top", "dict", "list_of_dicts"]),
                   others=st.dictionaries(SAFE_KEYS, OTHER_VALUES, max_size=3))
            def check(key: str, secret: str, wrap: str, others: dict[str, Any]) -> None:
                shapes: dict[str, dict[str, Any]] = {
                    "top": {key: secret}, "dict": {"outer": {key: secret}},
                    "list_of_dicts": {"items": [{key: secret}]}}
                labels = shapes[wrap]
                event = run_once(captured, {**others, **labels})
                assert secret not in json.dumps(event.body, ensure_ascii=False)
                assert secret not in repr(event.attributes)
                assert REDACTED in json.dumps(event.labels)

            check()

    def test_bearer_values_never_appear_under_any_key(self) -> None:
        """``Bearer <token>`` under any key, at any depth, is redacted."""
        with capture_events(strict=False) as captured:
            @QUICK
            @given(key=SAFE_KEYS, token=SECRET_TEXT, prefix=st.sampled_from(["", "Authorization: ", "header was "]),
                   nested=st.booleans())
            def check(key: str, token: str, prefix: str, nested: bool) -> None:
                value = f"{prefix}Bearer {token}"
                event = run_once(captured, {key: [value] if nested else value})
                assert token not in json.dumps(event.body, ensure_ascii=False)

            check()
