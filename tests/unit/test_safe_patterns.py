"""GYRINX_TRACKER_REDACT_EXTRA patterns are checked at start-up and run with a bound (issue 26, point 8).

``(a+)+$`` made one key of 25 characters stall the export thread for seconds. Without RE2 it is
now refused with one warning; with RE2 it runs in linear time. Nothing here times anything: the
tests assert what was refused, matched and delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

import gyrinx_tracker
from gyrinx_tracker import stats
from gyrinx_tracker._core import safe_patterns
from gyrinx_tracker.testing import capture_events

track: Callable[..., None] = gyrinx_tracker.track
EVIL = "(a+)+$"
EVIL_KEY = "a" * 25 + "!"
REDACTED = "[REDACTED]"


@pytest.fixture(autouse=True)
def _fresh_patterns() -> Iterator[None]:
    """Compiled patterns are cached per process; each test compiles its own."""
    safe_patterns._compile_all.cache_clear()
    yield
    safe_patterns._compile_all.cache_clear()


@pytest.fixture
def without_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where google-re2 is not installed (it is an optional extra)."""
    monkeypatch.setattr(safe_patterns, "re2_module", lambda: None)


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "is refused" in r.getMessage()]


class TestWithoutRe2:
    def test_a_pathological_pattern_is_refused_and_the_event_delivered(self, without_re2: None,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
        """``(a+)+$`` is refused with one warning naming it; the key that stalled the exporter is kept,
        the other patterns and the defaults still redact."""
        caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
        with capture_events(strict=False, redact_extra=[EVIL, "^memo$"]) as capture:
            for _ in range(3):
                track("t", **{EVIL_KEY: 1, "memo": "x", "password": "y"})
            assert [e.labels for e in capture.events] == [{EVIL_KEY: 1, "memo": REDACTED, "password": REDACTED}] * 3
            assert stats()["emitted"] == 3
        (message,) = _refusals(caplog)
        assert repr(EVIL) in message and "nested quantifiers" in message

    @pytest.mark.parametrize("pattern", ["(a+)+$", "(a*)*b", "(x+y?){2,}", "(.*a){20}", "(a|a)*b", "(ab|a)+$",
                                         "((ab)*)+c", r"(\w+\s?)+$"])
    def test_nested_quantifiers_are_refused(self, without_re2: None, pattern: str) -> None:
        """A quantified group holding a quantifier, or alternatives that start alike inside one."""
        assert safe_patterns.pathological(pattern) is not None
        assert safe_patterns.compile_extra([pattern]) == ()

    @pytest.mark.parametrize("pattern", ["internal_?note", "^memo$", "(ab|cd)+", "card_?(cvv|cvc)", "x{2,5}",
                                         "(abc){3}", "^(pin|secret)_code$", r"\bnote\b"])
    def test_ordinary_patterns_are_accepted(self, without_re2: None, pattern: str) -> None:
        """The patterns people write for key names pass the checks and match as before."""
        assert safe_patterns.pathological(pattern) is None
        assert len(safe_patterns.compile_extra([pattern])) == 1

    def test_a_polynomial_pattern_is_refused_by_the_probes(self, without_re2: None) -> None:
        """``a*a*a*a*a*a*a*a*b`` has no nested group, but its test searches blow up: refused."""
        pattern = "a*a*a*a*a*a*a*a*b"
        assert safe_patterns.pathological(pattern) is None
        assert safe_patterns.compile_extra([pattern]) == ()

    def test_the_textual_check_stands_in_for_the_parser(self, without_re2: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
        """Without CPython's parser (a private module that may change), a textual check refuses nesting."""
        monkeypatch.setattr(safe_patterns, "parser_probe", lambda: None)
        assert safe_patterns.pathological("(a+)+$") is not None
        assert safe_patterns.pathological("(a*)*b") is not None
        assert safe_patterns.pathological("internal_?note") is None
        assert safe_patterns.compile_extra([EVIL]) == ()

    def test_patterns_see_at_most_the_cap(self, without_re2: None) -> None:
        """A pattern reads at most MAX_SUBJECT characters of a key."""
        (matcher,) = safe_patterns.compile_extra(["b$"])
        cap = safe_patterns.MAX_SUBJECT
        assert matcher("a" * (cap - 1) + "b")
        assert not matcher("a" * cap + "b")


class TestTheProbe:
    def test_the_parser_probe_reads_this_python(self) -> None:
        """CPython's parser is found and reads ``(?:a+)+`` as we expect; fails when upstream changes it."""
        assert safe_patterns.parser_probe() is not None


class TestWithRe2:
    def test_re2_runs_the_pattern_in_linear_time(self, caplog: pytest.LogCaptureFixture) -> None:
        """With google-re2 installed, ``(a+)+$`` is accepted: it redacts what it matches and the key that
        stalled ``re`` is kept, without a warning."""
        if safe_patterns.re2_module() is None:
            pytest.skip("google-re2 is not installed (the test extra installs it)")
        caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
        with capture_events(strict=False, redact_extra=[EVIL]) as capture:
            track("t", **{EVIL_KEY: 1, "aaaa": "x"})
            assert capture.events[0].labels == {EVIL_KEY: 1, "aaaa": REDACTED}
        assert _refusals(caplog) == []

    def test_what_re_refuses_is_literal_under_both_engines(self) -> None:
        """A pattern ``re`` cannot compile is matched literally even when RE2 would accept it."""
        for use_re2 in (True, False):
            safe_patterns._compile_all.cache_clear()
            (matcher,) = safe_patterns.compile_extra(["x(?i)y"], use_re2=use_re2)
            assert matcher("ax(?i)yb") and not matcher("xy")
