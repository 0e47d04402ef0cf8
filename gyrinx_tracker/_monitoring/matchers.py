"""A ``log_match`` alert's label conditions as tests on metric labels, for PromQL and Cloud Monitoring.

Why over metrics when it can be: the counters count every event, the logs only the kept share of
a sampled one. Metric label values are strings, so a comparison with a whole number N >= 0 becomes
an anchored regular expression over decimal digits (``at_least``): ``>= N`` and ``> N`` match it,
``< N`` and ``<= N`` its complement. A fraction, a negative bound, or a label the metrics do not
carry (an id-like name) cannot be said over metrics: None.
"""

from __future__ import annotations

from dataclasses import dataclass

from gyrinx_tracker._catalogue.alerts import AlertSpec
from gyrinx_tracker._monitoring.model import Monitored


@dataclass(frozen=True, slots=True)
class LabelTest:
    """``key`` (as stored) equals ``text`` (or fully matches it as a regex), or, ``negated``, does not."""

    key: str
    text: str
    regex: bool
    negated: bool


def label_tests(entry: Monitored, alert: AlertSpec) -> list[LabelTest] | None:
    tests = []
    for condition in alert.match:
        key = entry.counter.labels.get(condition.label)
        if key is None:
            return None
        value = condition.value
        if condition.op in ("=", "!="):
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            tests.append(LabelTest(key, text, False, condition.op == "!="))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
            return None
        bound = int(value) + (1 if condition.op in (">", "<=") else 0)
        tests.append(LabelTest(key, at_least(bound), True, condition.op in ("<", "<=")))
    return tests


def at_least(bound: int) -> str:
    """A regular expression fully matching the decimal form (no sign, no leading zero) of every integer >= ``bound``."""
    digits = str(bound)
    choices = [f"[1-9][0-9]{{{len(digits)},}}"]  # more digits
    for i, digit in enumerate(digits):
        if digit != "9":
            low = max(int(digit) + 1, 1) if i == 0 else int(digit) + 1
            rest = len(digits) - i - 1
            choices.append(digits[:i] + f"[{low}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    choices.append(digits)
    return "|".join(choices)
