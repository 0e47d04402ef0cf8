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
