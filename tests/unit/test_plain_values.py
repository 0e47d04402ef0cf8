"""The sanitizer's memory of plain label values: a shortcut that never changes a verdict."""

from __future__ import annotations

from gyrinx_tracker._config import TrackerConfig
from gyrinx_tracker._core.sanitize import _PLAIN_VALUES_LIMIT, Sanitizer

REDACTED = "[REDACTED]"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"


class Shouting(str):
    """A str subclass whose equality and hash are its own: it must never be trusted by value."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("GET")


class TestPlainValues:
    def test_a_repeated_value_is_copied_as_it_was_the_first_time(self) -> None:
        """A plain value seen before gives the same labels as on its first sight."""
        sanitizer = Sanitizer(TrackerConfig())
        first = sanitizer.event("api_request", 1, None, {"endpoint": "/a", "method": "GET"}).labels
        again = sanitizer.event("api_request", 1, None, {"endpoint": "/a", "method": "GET"}).labels
        assert first == again == {"endpoint": "/a", "method": "GET"}

    def test_a_credential_after_plain_values_is_still_redacted(self) -> None:
        """Remembering plain values does not let a credential in the same label through."""
        sanitizer = Sanitizer(TrackerConfig())
        sanitizer.event("api_request", 1, None, {"note": "hello"})
        labels = sanitizer.event("api_request", 1, None, {"note": JWT}).labels
        assert labels["note"] != JWT
        assert JWT not in str(labels)

    def test_a_str_subclass_is_not_taken_for_a_remembered_value(self) -> None:
        """A subclass equal to everything is checked and converted, not matched against the memory."""
        sanitizer = Sanitizer(TrackerConfig())
        sanitizer.event("api_request", 1, None, {"method": "GET"})
        labels = sanitizer.event("api_request", 1, None, {"method": Shouting("x\ny")}).labels
        assert type(labels["method"]) is str
        assert labels["method"] != "GET"

    def test_the_memory_is_bounded(self) -> None:
        """Distinct values beyond the limit empty the memory instead of growing it."""
        sanitizer = Sanitizer(TrackerConfig())
        for i in range(_PLAIN_VALUES_LIMIT * 2 + 10):
            sanitizer.event("api_request", 1, None, {"user_id": f"user-{i}"})
        assert 0 < len(sanitizer._plain_values) <= _PLAIN_VALUES_LIMIT  # the bound itself


def _queued(sanitizer: Sanitizer, labels: dict[str, object]) -> dict[str, object]:
    """The worker's path: a call queued as given, cleaned by ``Sanitizer.queued``."""
    return sanitizer.queued("api_request", 1, None, labels, 0, None, None, None).labels


class TestQueuedMemory:
    def test_a_secret_after_a_remembered_look_alike_is_still_redacted(self) -> None:
        """The set check of the worker's path lets through only values seen plain; a JWT is not one."""
        sanitizer = Sanitizer(TrackerConfig())
        assert _queued(sanitizer, {"note": "hello", "status": 200}) == {"note": "hello", "status": 200}
        labels = _queued(sanitizer, {"note": JWT, "status": 200})
        assert JWT not in str(labels)
        assert labels["status"] == 200

    def test_a_remembered_int_does_not_vouch_for_a_non_finite_float(self) -> None:
        """Remembered numbers are compared by value: NaN and infinities equal none of them."""
        sanitizer = Sanitizer(TrackerConfig())
        _queued(sanitizer, {"x": 1, "y": 0})
        labels = _queued(sanitizer, {"x": float("nan"), "y": float("inf")})
        assert labels == {"x": "nan", "y": "inf"}
        assert [cause for cause, _ in sanitizer.take_problems()] == ["non_finite_label"] * 2

    def test_values_equal_to_a_remembered_int_keep_their_own_type(self) -> None:
        """True and 1.0 equal a remembered 1; they are plain too, and are kept as given."""
        sanitizer = Sanitizer(TrackerConfig())
        _queued(sanitizer, {"x": 1})
        labels = _queued(sanitizer, {"x": True})
        assert labels["x"] is True
        labels = _queued(sanitizer, {"x": 1.0})
        assert type(labels["x"]) is float

    def test_a_secret_key_is_redacted_after_plain_keys_were_remembered(self) -> None:
        """Only keys seen plain are remembered: a secret-named key beside them is still redacted."""
        sanitizer = Sanitizer(TrackerConfig())
        _queued(sanitizer, {"endpoint": "/a", "method": "GET"})
        labels = _queued(sanitizer, {"endpoint": "/a", "password": "GET"})
        assert labels == {"endpoint": "/a", "password": REDACTED}

    def test_the_worker_path_agrees_with_the_full_check(self) -> None:
        """Warm or cold, the worker's path cleans every label set as the full check does."""
        sets: list[dict[str, object]] = [
            {"endpoint": "/a", "method": "GET", "status": 200}, {"endpoint": JWT, "method": "GET"},
            {"token": "abc", "status": 200}, {"x": None, "y": True, "z": 2.5}, {"x": "a\nb"},
            {"x": "Bearer abcdefgh12345"}, {"url": "https://u:pw@example.com/"}, {"x": 1, "y": "1"},
        ]
        warm = Sanitizer(TrackerConfig())
        for labels in sets * 2:
            assert _queued(warm, dict(labels)) == Sanitizer(TrackerConfig()).event("e", 1, None, dict(labels)).labels

    def test_the_memory_is_bounded_with_numbers_too(self) -> None:
        """Distinct ints are remembered under the same bound as strings."""
        sanitizer = Sanitizer(TrackerConfig())
        for i in range(_PLAIN_VALUES_LIMIT * 2 + 10):
            _queued(sanitizer, {"user_id": i, "name": f"n{i}"})
        assert 0 < len(sanitizer._plain_values) <= _PLAIN_VALUES_LIMIT
