"""What to do about a problem found in a ``track()`` call's arguments: warn, or in strict mode raise.

The sanitizer repairs every input and lists what it had to do as ``(cause, detail)`` pairs; this
module is the policy applied to that list, in one room. In normal mode each cause is warned about
at most once per rate-limit window and the event is kept. In strict mode (test suites) a repair is
an error raised at the call site, except for redaction: hiding a credential is policy applied to
valid input, so it warns in both modes and never raises.
"""

from __future__ import annotations

from gyrinx_tracker._diagnostics import warn_limited

Problems = list[tuple[str, str]]

# Causes that are policy, not bad input: strict mode warns about them like normal mode.
POLICY_CAUSES = frozenset({"secret_value"})


class TrackerInputError(ValueError):
    """Raised by ``track()`` in strict mode when an argument had to be repaired or dropped."""


def warn(event: str, problems: Problems) -> None:
    """One rate-limited warning per (cause, event, detail): a second event's problem, or the same
    event's problem with another label or value, is news of its own; the event itself was kept."""
    for cause, detail in problems:
        warn_limited((f"input:{cause}", event, detail), "%s (event %r); the rest of the event was kept",
                     detail, event)


def enforce(event: str, problems: Problems) -> None:
    """Strict mode: warn about policy, raise ``TrackerInputError`` for every other repair."""
    warn(event, [(cause, detail) for cause, detail in problems if cause in POLICY_CAUSES])
    errors = [detail for cause, detail in problems if cause not in POLICY_CAUSES]
    if errors:
        raise TrackerInputError("; ".join(errors))
