"""What the caller's thread queues as given, and what it converts first: the verdict of
``plain.queueable`` on hostile labels, and through the real pipeline, with the exporter held shut
by a gate so that events wait in the queue while the caller changes what it passed.

What is queued as given must stay bounded in bytes whatever the input (the byte budget relies on
it) and must not change after the call; anything else is converted on the caller's thread.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import pytest

import gyrinx_tracker
from gyrinx_tracker._core.plain import MAX_SAFE_INT, QUEUED_CHARS, QUEUED_LABELS, queueable
from gyrinx_tracker._signals.otel_logs import LogRecordExporter, LogRecordExportResult


class Text(str):
    """A str subclass: it may carry attributes, so it is never queued as given."""


class Number(int):
    """An int subclass: the same."""


class TestQueueableVerdict:
    @pytest.mark.parametrize(("name", "n", "value", "labels"), [
        ("api_request", 1, 12.5, {"endpoint": "/a", "method": "GET", "status": 200, "user_id": "7"}),
        ("api_request", 3, None, {}),
        ("api_request", 1, 7, {"flag": True, "none": None, "ratio": 0.5}),
        ("api_request", 1, math.nan, {"ratio": math.inf}),  # repaired by the worker, bounded here
        ("api_request", MAX_SAFE_INT, -MAX_SAFE_INT, {"big": MAX_SAFE_INT, "small": -MAX_SAFE_INT}),
        ("e", 1, None, {f"k{i}": i for i in range(QUEUED_LABELS)}),
        ("e", 1, None, {"k": "x" * (QUEUED_CHARS - 2)}),  # name + key + value: exactly the limit
    ], ids=["request", "no_labels", "fixed_size_scalars", "nan_and_inf", "safe_int_bounds", "most_labels",
            "most_chars"])
    def test_small_immutable_scalars_are_queued_as_given(self, name: str, n: int, value: Any,
                                                         labels: dict[str, Any]) -> None:
        """Exact str, int, float, bool and None, few and short: queued as they are."""
        assert queueable(name, n, value, labels) is True

    @pytest.mark.parametrize(("name", "n", "value", "labels"), [
        ("e", 1, None, {"k": "x" * (QUEUED_CHARS - 1)}),
        ("e", 1, None, {"k" * QUEUED_CHARS: 1}),
        ("e" * (QUEUED_CHARS + 1), 1, None, {}),
        ("e", 1, None, {f"k{i}": i for i in range(QUEUED_LABELS + 1)}),
        ("e", 1, None, {"k": "x" * 10_000_000}),
        ("e", 1, None, {"k": MAX_SAFE_INT + 1}),
        ("e", 1, None, {"k": -MAX_SAFE_INT - 1}),
        ("e", 1, None, {"k": 10 ** 5000}),
        ("e", 1, None, {"k": ["a"]}),
        ("e", 1, None, {"k": {"a": 1}}),
        ("e", 1, None, {"k": ("a", ("b",))}),
        ("e", 1, None, {"k": bytearray(b"a")}),
        ("e", 1, None, {"k": b"a"}),
        ("e", 1, None, {"k": Text("a")}),
        ("e", 1, None, {"k": Number(1)}),
        ("e", 1, None, {"k": object()}),
        ("e", 1, Number(1), {}),
        ("e", 1, MAX_SAFE_INT + 1, {}),
        ("e", 1, "1.5", {}),
        ("e", 0, None, {}),
        ("e", -1, None, {}),
        ("e", True, None, {}),
        ("e", 1.0, None, {}),
        ("e", MAX_SAFE_INT + 1, None, {}),
        ("e", Number(1), None, {}),
        (Text("e"), 1, None, {}),
        (None, 1, None, {}),
    ], ids=["one_char_over", "long_key", "long_name", "too_many_labels", "huge_string", "int_past_2_53",
            "int_below_minus_2_53", "huge_int", "list", "dict", "nested_tuple", "bytearray", "bytes",
            "str_subclass", "int_subclass", "object", "int_subclass_value", "value_past_2_53", "text_value",
            "n_zero", "n_negative", "n_bool", "n_float", "n_past_2_53", "n_subclass", "name_subclass",
            "name_none"])
    def test_anything_else_is_converted_on_the_caller(self, name: Any, n: Any, value: Any,
                                                      labels: dict[str, Any]) -> None:
        """Large, mutable, or of a type that could run code or hold more than it shows: not queued as given."""
        assert queueable(name, n, value, labels) is False


class GatedExporter(LogRecordExporter):
    """Holds every export until the gate opens, then keeps the records' bodies."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.bodies: list[dict[str, Any]] = []

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        self.entered.set()
        self.gate.wait(30)
        self.bodies.extend(dict(record.log_record.body) for record in batch)
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


@pytest.fixture
def gated() -> GatedExporter:
    """A pipeline whose first export waits at the gate: later events wait in the queue."""
    exporter = GatedExporter()
    gyrinx_tracker.configure(exporter="console", log_exporter=exporter, global_providers="never",
                             handle_sigterm=False, batch_size=1)
    gyrinx_tracker.track("first")
    assert exporter.entered.wait(30)
    return exporter


def _delivered(exporter: GatedExporter) -> dict[str, dict[str, Any]]:
    exporter.gate.set()
    assert gyrinx_tracker.flush(30)
    books = gyrinx_tracker.stats()
    assert books["emitted"] == books["exported"] == len(exporter.bodies)
    return {body["event"]: body for body in exporter.bodies}


class TestRecordedAsAtTheCall:
    def test_mutable_labels_changed_after_the_call_are_recorded_as_they_were(self, gated: GatedExporter) -> None:
        """A list, a dict and a bytearray changed while their event waits in the queue: the event
        carries what they held at the call."""
        items, mapping, raw = ["a"], {"k": "v"}, bytearray(b"abc")
        gyrinx_tracker.track("mutated", items=items, mapping=mapping, raw=raw)
        gyrinx_tracker.track("reference", items=["a"], mapping={"k": "v"}, raw=bytearray(b"abc"))
        items.append("b")
        mapping["k"] = "changed"
        raw[:] = b"xyz"
        delivered = _delivered(gated)
        assert delivered["mutated"]["labels"] == delivered["reference"]["labels"]

    def test_subclasses_bools_and_nan_arrive_as_a_fresh_call_would(self, gated: GatedExporter) -> None:
        """Queued (as given or converted) while the exporter is held, each input arrives as it
        does when exported at once."""
        labels = {"text": Text("a"), "number": Number(3), "flag": True, "ratio": math.nan, "count": 7}
        gyrinx_tracker.track("queued", 1, math.nan, **labels)
        queued = _delivered(gated)["queued"]
        gyrinx_tracker.configure(exporter="console", log_exporter=(fresh := GatedExporter()),
                                 global_providers="never", handle_sigterm=False)
        gyrinx_tracker.track("queued", 1, math.nan, **labels)
        assert queued == _delivered(fresh)["queued"]

    def test_a_huge_string_waits_cut_not_whole(self, gated: GatedExporter) -> None:
        """A 10 MB label is converted on the caller: the queue holds it cut to max_string."""
        gyrinx_tracker.track("huge", blob="x" * 10_000_000)
        label = _delivered(gated)["huge"]["labels"]["blob"]
        assert len(label) < 100_000
