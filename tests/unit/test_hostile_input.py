"""Input that used to cost the caller, the memory or a secret: labels named like parameters,
values whose conversion has no bound or a side effect, warnings that quoted what they were given.

Every case runs through the real pipeline (``capture_events``); work is measured as memory the
call allocated (``tracemalloc``) and calls counted on real objects, never as time. A Django
QuerySet as a label runs in a child with its own settings (tests/process/test_hostile_input.py).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gyrinx_tracker import track as _typed_track
from gyrinx_tracker.testing import Capture
from tests.tracked_input import only, ours

# Wrong argument types are part of the point, so calls are not type-checked here.
track: Callable[..., None] = _typed_track
SECRET = "hunter2-s3cr3t"


class TestLabelsNamedLikeParameters:
    def test_a_label_may_be_called_event(self, lenient: Capture) -> None:
        """``event`` is positional-only: ``event="push"`` is a label, not a second event name."""
        track("webhook_received", event="push")
        event = only(lenient)
        assert (event.event, event.labels) == ("webhook_received", {"event": "push"})

    def test_captures_can_be_asked_about_a_label_called_event(self, lenient: Capture) -> None:
        """The testing helpers take the event positionally too, so they can match that label."""
        from gyrinx_tracker.testing import Tracked

        track("webhook_received", event="push")
        tracked = Tracked(lenient)
        tracked.assert_tracked("webhook_received", event="push")
        tracked.assert_not_tracked("webhook_received", event="pull")
        assert lenient.count("webhook_received") == 1


class TestWarningsNeverEchoInput:
    @pytest.mark.parametrize(("args", "labels"), [
        (("w", SECRET), {}),
        (("w", 1, SECRET), {}),
        (("w", 1, [SECRET]), {}),
        (("w", 4111111111111111111), {}),
        (("w",), {f"{SECRET}" * 10: 1}),
        (("w",), {"": SECRET}),
    ], ids=["n_as_text", "value_as_text", "value_as_list", "n_card_number_sized", "long_key",
            "empty_key"])
    def test_no_warning_quotes_what_it_was_given(self, lenient: Capture, warnings: pytest.LogCaptureFixture,
                                                 args: tuple[Any, ...], labels: dict[str, Any]) -> None:
        """A warning names the argument, its type and length, never its text: a secret passed as n,
        value, name or key by mistake stays out of the logs."""
        track(*args, **labels)
        only(lenient)
        messages = ours(warnings)
        assert messages, "the repair must still be reported"
        assert all(SECRET not in m and "4111111111111111111" not in m for m in messages), messages

    @pytest.mark.parametrize("raw", ["bad name!", b"bad name!", ["bad name!"]], ids=["str", "bytes", "list"])
    def test_a_repaired_name_is_shown_as_recorded_not_as_given(self, lenient: Capture,
                                                               warnings: pytest.LogCaptureFixture, raw: object) -> None:
        """The warning shows the name the output carries anyway, and only the type of what was given."""
        track(raw)
        assert only(lenient).event == "bad_name"
        (message,) = ours(warnings)
        assert "'bad_name'" in message and "bad name!" not in message

    def test_a_credential_shaped_event_name_is_not_recorded(self, lenient: Capture,
                                                           warnings: pytest.LogCaptureFixture) -> None:
        """An access key passed as the event name by mistake is recorded as a stand-in name."""
        key = "AKIAIOSFODNN7EXAMPLE"
        track(key)
        event = only(lenient)
        assert event.event == "redacted_event_name"
        assert all(key not in m for m in ours(warnings))


class SideEffect:
    """An object whose ``__str__``, ``__repr__`` and ``__float__`` count their calls (as a QuerySet's
    ``__str__`` ran a query): the tracker must not call them."""

    calls = 0

    def __str__(self) -> str:
        SideEffect.calls += 1
        return "side effect"

    def __repr__(self) -> str:
        SideEffect.calls += 1
        return "SideEffect()"

    def __float__(self) -> float:
        SideEffect.calls += 1
        return 1.0


class Counted(set[int]):
    """A set that counts the members iterated out of it."""

    taken = 0

    def __iter__(self) -> Iterator[int]:
        for item in super().__iter__():
            Counted.taken += 1
            yield item


def allocated_by(call: Callable[[], object]) -> int:
    """Peak bytes Python allocated during ``call`` (tracemalloc): the caller's work, measured as memory."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


class TestArbitraryObjects:
    def test_an_object_of_unknown_type_is_recorded_by_its_type_name_without_running_its_code(
            self, lenient: Capture, warnings: pytest.LogCaptureFixture) -> None:
        """No ``__str__``/``__repr__``/``__float__`` of an unknown object runs: it becomes ``<unsupported Type>``."""
        SideEffect.calls = 0
        track("w", SideEffect(), SideEffect(), obj=SideEffect(), nested=[{"x": SideEffect()}], s={1})
        event = only(lenient)
        assert SideEffect.calls == 0
        assert event.labels == {"obj": "<unsupported SideEffect>", "nested": [{"x": "<unsupported SideEffect>"}],
                                "s": [1]}
        assert (event.n, event.value) == (0, None)
        assert any("type SideEffect is not a supported type" in m for m in ours(warnings))

    def test_a_stored_id_is_still_recorded_as_the_original_tracker_did(self, lenient: Capture) -> None:
        """A model-like instance with an ``id`` in its ``__dict__`` is recorded as ``str(id)``."""
        thing = SideEffect()
        thing.id = 42  # type: ignore[attr-defined]
        track("w", user=thing)
        assert only(lenient).labels == {"user": "42"}
        assert SideEffect.calls == 0


class TestCallerWorkIsBounded:
    def test_a_huge_set_is_not_iterated_past_the_item_limit(self, lenient: Capture) -> None:
        """A 1M-member set yields at most 101 members (it was sorted whole before being cut)."""
        big = Counted(range(1_000_000))
        Counted.taken = 0
        track("w", ids=big)
        assert Counted.taken <= 101
        assert len(only(lenient).labels["ids"]) == 100

    @pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
    def test_huge_bytes_are_cut_before_they_are_decoded(self, lenient: Capture, kind: type) -> None:
        """10 MB of bytes: the call allocates well under 1 MB (the whole buffer was decoded before)."""
        blob = kind(b"x" * 10_000_000)
        used = allocated_by(lambda: track("w", blob=blob))
        assert used < 1_000_000, used
        assert only(lenient).labels["blob"] == "x" * 8192 + "…[+9967232 bytes]"

    def test_huge_binary_bytes_become_a_cut_base64_head(self, lenient: Capture) -> None:
        """10 MB that are not UTF-8: base64 of the head only, marked as cut."""
        blob = b"\xff" * 10_000_000
        used = allocated_by(lambda: track("w", blob=blob))
        assert used < 1_000_000, used
        text = only(lenient).labels["blob"]
        assert text.startswith("base64:////") and text.endswith(" bytes]") and len(text) < 8300

    def test_a_huge_str_subclass_is_cut_before_it_is_copied(self, lenient: Capture) -> None:
        """A 10 MB str subclass is read for its first max_string characters only."""
        class Text(str):
            pass

        text = Text("y" * 10_000_000)
        used = allocated_by(lambda: track("w", text=text, nested=[text]))
        assert used < 1_000_000, used
        labels = only(lenient).labels
        assert labels["text"] == "y" * 8192 + "…[+9991808 chars]" == labels["nested"][0]


class TestNumpyScalars:
    def test_numpy_scalars_are_numbers(self, lenient: Capture, warnings: pytest.LogCaptureFixture) -> None:
        """numpy integers and floats become JSON numbers (not strings), as labels, n and value, quietly."""
        np = pytest.importorskip("numpy")
        track("rows", np.int64(3), np.float32(2.5), count=np.int64(7), ratio=np.float64(0.25),
              small=np.int8(-4), flag=np.bool_(True), nested=[np.uint16(9)], nan=np.float64("nan"))
        event = only(lenient)
        assert (event.n, event.value) == (3, 2.5)
        assert event.labels == {"count": 7, "ratio": 0.25, "small": -4, "flag": True, "nested": [9], "nan": "nan"}
        assert [type(event.labels[key]) for key in ("count", "ratio", "small", "flag")] == [int, float, int, bool]
        assert [m for m in ours(warnings) if "NaN" not in m] == []
