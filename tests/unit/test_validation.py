"""Bad input never raises into the application and never loses the rest of the event.

Every case goes through the real pipeline (``capture_events``) and asserts on what was exported:
the salvaged event, the exact repaired value, and the one rate-limited warning about it.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import json
import uuid
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

import gyrinx_tracker
from gyrinx_tracker import TrackerInputError, _diagnostics
from gyrinx_tracker import track as _typed_track
from gyrinx_tracker.testing import Capture, capture_events
from tests.tracked_input import only, ours

ENTRY_BYTES = 256_000

# Wrong argument types are the point of this module, so calls are not type-checked here.
track: Callable[..., None] = _typed_track


def body_sizes(body: dict[str, Any]) -> tuple[int, int]:
    """Bytes of the body as JSON, escaped to ASCII and as UTF-8: both must fit one entry."""
    ascii_text = json.dumps(body, allow_nan=False)
    utf8_text = json.dumps(body, allow_nan=False, ensure_ascii=False)
    return len(ascii_text.encode()), len(utf8_text.encode())


# -- hostile and awkward values ---------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Model:
    """A Django-model-like object: the original tracker logged ``str(obj.id)``."""

    id = 7

    def __str__(self) -> str:
        return "Model object (7)"


class NoId:
    id = None

    def __str__(self) -> str:
        return "no id yet"


class IdRaises:
    @property
    def id(self) -> NoReturn:
        raise RuntimeError("deferred field")

    def __str__(self) -> str:
        return "id-less"


class StrRaises:
    def __str__(self) -> str:
        raise RuntimeError("database is gone")


class Hostile:
    """Every dunder the encoder might touch raises."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __iter__(self) -> NoReturn:
        raise RuntimeError("iter")

    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __float__(self) -> float:
        raise RuntimeError("float")

    @property  # type: ignore[misc]  # a read-only, raising __class__ is the point
    def __class__(self) -> NoReturn:  # type: ignore[override]
        raise RuntimeError("class")


class ItemsRaise(dict[str, int]):
    def items(self) -> NoReturn:
        raise RuntimeError("items")


class IterRaises(list[int]):
    def __iter__(self) -> NoReturn:
        raise RuntimeError("iter")


class LoudStr(str):
    """A str subclass whose __str__, __hash__ and __len__ raise: its characters are still usable."""

    def __str__(self) -> NoReturn:
        raise RuntimeError("str")

    def __hash__(self) -> NoReturn:
        raise RuntimeError("hash")

    def __len__(self) -> NoReturn:
        raise RuntimeError("len")


def case_id(value: object) -> str:
    """A parameter id that survives a hostile __repr__."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - Hostile's __repr__ raises by design
        text = f"<{type(value).__name__}>"
    return text[:40]


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


LABEL_VALUES: list[tuple[str, object, object]] = [
    ("none", None, None),
    ("bool", True, True),
    ("safe_int", 2**53, 2**53),
    ("huge_int", 2**64, "18446744073709551616"),
    ("huge_negative_int", -(2**64), "-18446744073709551616"),
    ("int_beyond_str_limit", 10**5000, "<unrepresentable int>"),
    ("nan", float("nan"), "nan"),
    ("inf", float("inf"), "inf"),
    ("minus_inf", float("-inf"), "-inf"),
    ("uuid", uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ("datetime", datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
    ("aware_datetime", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
     "2024-01-02T03:04:05+00:00"),
    ("date", datetime.date(2024, 1, 2), "2024-01-02"),
    ("time", datetime.time(3, 4, 5), "03:04:05"),
    ("timedelta", datetime.timedelta(minutes=1, seconds=30), 90.0),
    ("decimal", decimal.Decimal("1.25"), 1.25),
    ("decimal_nan", decimal.Decimal("NaN"), "NaN"),
    ("enum", Color.RED, "red"),
    ("int_enum", Level.HIGH, 3),
    ("lone_surrogate", "a\udc80b", "a\\udc80b"),
    ("nested_lone_surrogate", {"\ud800": ["\udfff"]}, {"\\ud800": ["\\udfff"]}),
    ("bytes_utf8", "héllo".encode(), "héllo"),
    ("bytes_binary", b"\xff\x00", "base64:/wA="),
    ("bytearray", bytearray(b"hi"), "hi"),
    ("memoryview", memoryview(b"hi"), "hi"),
    ("set", {3, 1, 2}, [1, 2, 3]),
    ("frozenset", frozenset({"b", "a"}), ["a", "b"]),
    ("mixed_set_sorted_by_repr", {1, "a"}, ["a", 1]),
    ("tuple", (1, "a"), [1, "a"]),
    ("deque", collections.deque([1, 2]), [1, 2]),
    ("nested_nan", [float("nan"), {"x": float("inf")}], ["nan", {"x": "inf"}]),
    ("non_str_keys", {1: "a", (1, 2): "b"}, {"1": "a", "[1, 2]": "b"}),
    ("long_list", list(range(150)), list(range(100))),
    ("long_dict", {f"k{i}": i for i in range(150)}, {f"k{i}": i for i in range(100)}),
    ("nested_too_deep", {"a": {"b": {"c": {"d": {"e": 1}}}}},
     {"a": {"b": {"c": {"d": "<nested too deep>"}}}}),
    ("list_too_deep", deep(5), [[[["<nested too deep>"]]]]),
    ("object_with_id", Model(), "7"),
    ("object_with_none_id", NoId(), "<unsupported NoId>"),
    ("object_whose_id_raises", IdRaises(), "<unsupported IdRaises>"),
    ("object_whose_str_raises", StrRaises(), "<unsupported StrRaises>"),
    ("hostile_object", Hostile(), "<unrepresentable Hostile>"),
    ("dict_whose_items_raise", ItemsRaise(a=1), "<unrepresentable ItemsRaise>"),
    ("list_whose_iter_raises", IterRaises([1]), "<unrepresentable IterRaises>"),
    ("str_subclass_with_hostile_dunders", LoudStr("plain"), "plain"),
    ("hostile_inside_list", [1, StrRaises(), 3], [1, "<unsupported StrRaises>", 3]),
]


class TestLabelValues:
    @pytest.mark.parametrize(("value", "expected"), [case[1:] for case in LABEL_VALUES],
                             ids=[case[0] for case in LABEL_VALUES])
    def test_value_is_salvaged_and_the_event_kept(self, lenient: Capture, value: object,
                                                  expected: object) -> None:
        """A label value that is not JSON becomes the JSON value a reader expects; siblings are untouched."""
        track("battery", bad=value, endpoint="/x")
        event = only(lenient)
        assert event.labels == {"bad": expected, "endpoint": "/x"}
        assert (event.event, event.n) == ("battery", 1)

    def test_mutable_values_are_recorded_as_they_were_at_the_call(self, lenient: Capture) -> None:
        """A list changed after track() returns is exported as it was when track() was called."""
        items = [1, 2]
        track("snapshot", items=items)
        items.append(3)
        assert only(lenient).labels == {"items": [1, 2]}

    def test_a_cut_list_keeps_its_first_items_and_warns(self, lenient: Capture,
                                                         warnings: pytest.LogCaptureFixture) -> None:
        """Cutting a long sequence is reported, so nobody mistakes the 100 items for all of them."""
        track("cut", items=list(range(150)))
        assert len(only(lenient).labels["items"]) == 100
        assert any("150 items was cut to 100" in message for message in ours(warnings))

    def test_every_bad_value_in_one_call_still_gives_one_event(self, lenient: Capture) -> None:
        """All the battery's values at once: one event, every label present, nothing dropped."""
        labels = {name: value for name, value, _ in LABEL_VALUES}
        track("all_at_once", **labels)
        event = only(lenient)
        assert event.labels == {name: expected for name, _, expected in LABEL_VALUES}

    def test_unpaired_surrogates_become_escapes_so_the_event_encodes(self, lenient: Capture) -> None:
        """A lone surrogate (os.fsdecode of a bad file name) in a key or value is escaped, not fatal to UTF-8."""
        track("files", **{"path\udc80": "/tmp/\udcff.txt"})
        event = only(lenient)
        assert event.labels == {"path\\udc80": "/tmp/\\udcff.txt"}
        json.dumps(event.body, ensure_ascii=False).encode("utf-8")

    def test_label_keys_are_bounded(self, lenient: Capture) -> None:
        """A key over 64 characters is cut and an empty key gets a stand-in; values are kept."""
        track("keys", **{"k" * 100: 1, "": 2})
        assert only(lenient).labels == {"k" * 64: 1, "_empty": 2}


class TestEventNames:
    @pytest.mark.parametrize(("raw", "expected"), [
        ("user_login", "user_login"),
        ("api.call-v2", "api.call-v2"),
        ("bad name!", "bad_name"),
        ("  spaced name  ", "spaced_name"),
        ("_leading", "leading"),
        ("1abc", "e_1abc"),
        ("événement", "v_nement"),
        ("x" * 150, "x" * 100),
        ("", "unnamed_event"),
        ("!!!", "unnamed_event"),
        (None, "unnamed_event"),
        (123, "e_123"),
        (3.5, "e_3.5"),
        (b"bytes_name", "bytes_name"),
        (Color.RED, "red"),
        (("a", "b"), "a_b"),
        (StrRaises(), "unsupported_StrRaises"),
        (Hostile(), "unnamed_event"),
        (LoudStr("subclass_name"), "subclass_name"),
    ], ids=case_id)
    def test_name_is_repaired(self, lenient: Capture, raw: object, expected: str) -> None:
        """A name that is not a snake_case string is repaired into one; the event and its labels stay."""
        track(raw, 2, 1.5, endpoint="/x")
        event = only(lenient)
        assert (event.event, event.n, event.value, event.labels) == (expected, 2, 1.5, {"endpoint": "/x"})
        assert type(event.event) is str

    def test_repaired_name_is_the_metric_name_too(self, lenient: Capture) -> None:
        """The counter is named after the repaired name, so logs and metrics agree."""
        track("bad name!")
        assert lenient.count("bad_name") == 1

    def test_bad_name_warns_with_what_was_recorded(self, lenient: Capture,
                                                   warnings: pytest.LogCaptureFixture) -> None:
        """The warning says what was recorded and the type and length of what was passed, never its
        text (a secret passed as the name by mistake stays out of the logs)."""
        track("bad name!")
        only(lenient)
        assert any("a str of 9 characters" in m and "'bad_name'" in m and "bad name!" not in m
                   for m in ours(warnings))


class TestCount:
    @pytest.mark.parametrize(("raw", "expected"), [
        (1, 1),
        (5, 5),
        (2**53, 2**53),
        (2.0, 2),
        ("3", 3),
        (decimal.Decimal(4), 4),
        (0, 0),
        (-1, 0),
        (2.5, 0),
        (True, 0),
        (None, 0),
        ("abc", 0),
        (float("nan"), 0),
        (float("inf"), 0),
        ("inf", 0),
        (2**53 + 1, 0),
        (10**400, 0),
        (Hostile(), 0),
    ], ids=case_id)
    def test_count_is_a_positive_int_or_zero(self, lenient: Capture, raw: object, expected: int) -> None:
        """n is repaired to a positive int when it means one, else recorded as 0; the event stays."""
        track("counted", raw, 1.5, endpoint="/x")
        event = only(lenient)
        assert (event.n, event.value, event.labels) == (expected, 1.5, {"endpoint": "/x"})

    def test_a_zero_count_is_logged_but_not_counted(self, lenient: Capture) -> None:
        """An invalid n keeps the log record (n=0) but adds nothing to the counter."""
        track("counted", -3)
        track("counted", 2)
        assert only_n(lenient) == [0, 2]
        assert lenient.count("counted") == 2

    def test_a_huge_count_does_not_lose_the_batch(self, lenient: Capture) -> None:
        """n=10**400 once broke the whole export batch (OverflowError); now only that n is refused."""
        track("counted", 10**400)
        track("counted", 1)
        assert only_n(lenient) == [0, 1]
        assert gyrinx_tracker.stats()["dropped"] == 0


def only_n(captured: Capture) -> list[int]:
    return [event.n for event in captured.events]


class TestValue:
    @pytest.mark.parametrize(("raw", "expected"), [
        (None, None),
        (1.5, 1.5),
        (3, 3),
        (0, 0),
        (-2.5, -2.5),
        (2**64, 2**64),
        (1e308, 1e308),
        ("1.5", 1.5),
        (decimal.Decimal("2.5"), 2.5),
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        ("nan", None),
        ("abc", None),
        (True, None),
        ([1], None),
        (10**400, None),
        (Hostile(), None),
    ], ids=case_id)
    def test_value_is_a_finite_number_or_left_out(self, lenient: Capture, raw: object,
                                                  expected: float | None) -> None:
        """value is kept when it is a finite number (coerced from numeric text), else left out."""
        track("measured", 2, raw, endpoint="/x")
        event = only(lenient)
        assert (event.n, event.value, event.labels) == (2, expected, {"endpoint": "/x"})
        assert ("value" in event.body) is (expected is not None)

    def test_a_left_out_value_does_not_reach_the_histogram(self, lenient: Capture) -> None:
        """Only valid values are recorded in ``tracker.<event>.value``."""
        track("measured", value=float("nan"))
        track("measured", value=4.0)
        (point,) = [p for p in lenient.metric_points() if p.name == "tracker.measured.value"]
        assert (point.count, point.sum) == (1, 4.0)

    def test_an_unfloatable_value_does_not_lose_the_batch(self, lenient: Capture) -> None:
        """value=10**400 once broke the whole export batch in the histogram; now it is left out."""
        track("measured", value=10**400)
        track("other", value=1.0)
        assert [(e.event, e.value) for e in lenient.events] == [("measured", None), ("other", 1.0)]
        assert gyrinx_tracker.stats()["dropped"] == 0

    def test_negative_values_stay_in_the_log_and_out_of_the_histogram_quietly(
            self, lenient: Capture, warnings: pytest.LogCaptureFixture) -> None:
        """OpenTelemetry histograms refuse negatives; the tracker warns once instead of the SDK per call."""
        for _ in range(5):
            track("delta", value=-1.0)
        track("delta", value=2.0)
        assert [e.value for e in lenient.events] == [-1.0] * 5 + [2.0]
        (point,) = [p for p in lenient.metric_points() if p.name == "tracker.delta.value"]
        assert (point.count, point.sum) == (1, 2.0)
        assert lenient.count("delta") == 6
        assert [m for m in ours(warnings) if "negative" in m] != []
        sdk = [r for r in warnings.records if r.name.startswith("opentelemetry") and "negative" in r.getMessage()]
        assert sdk == []


class TestBounds:
    def test_thousands_of_labels_are_bounded_and_counted(self) -> None:
        """5000 labels keep the first max_labels and say how many were dropped."""
        with capture_events(strict=False, max_labels=10) as captured:
            track("wide", **{f"k{i}": i for i in range(5000)})
            event = only(captured)
        assert event.labels == {**{f"k{i}": i for i in range(10)}, "_dropped_labels": 4990}

    def test_thousands_of_labels_with_the_default_limit(self, lenient: Capture) -> None:
        """With the default max_labels (128) the event arrives with 128 labels and the drop count,
        and its attributes stay within the SDK's limit with gyrinx.event kept."""
        track("wide", **{f"k{i}": i for i in range(5000)})
        event = only(lenient)
        assert len(event.labels) == 129 and event.labels["_dropped_labels"] == 4872
        assert len(event.attributes) == 128 and event.attributes["gyrinx.event"] == "wide"

    def test_a_huge_string_is_truncated_with_a_marker(self, lenient: Capture) -> None:
        """A string over max_string characters keeps its head and says how much was cut."""
        track("long", text="x" * 100_000, short="ok")
        assert only(lenient).labels == {"text": "x" * 8192 + "…[+91808 chars]", "short": "ok"}

    def test_max_string_is_configurable(self) -> None:
        """max_string applies to top-level and nested strings alike."""
        with capture_events(strict=False, max_string=4) as captured:
            track("long", text="abcdefgh", nested=["abcdefgh"])
            event = only(captured)
        assert event.labels == {"text": "abcd…[+4 chars]", "nested": ["abcd…[+4 chars]"]}

    @pytest.mark.parametrize("labels", [
        pytest.param({f"k{i}": "\x00" * 8000 for i in range(120)}, id="control_chars_escape_6x"),
        pytest.param({f"k{i}": "😀" * 8000 for i in range(120)}, id="emoji_4_bytes_or_12_escaped"),
        pytest.param({f"k{i}": '"\\' * 4000 for i in range(120)}, id="quotes_and_backslashes"),
        pytest.param({f"k{i}": "x" * 8000 for i in range(120)}, id="plain_ascii"),
        pytest.param({f"k{i}": ["\x00" * 8000] * 20 for i in range(20)}, id="nested_escapes"),
        pytest.param({"v": [["x" * 8000] * 100] * 100, "after": "kept"}, id="nested_amplification"),
        pytest.param({"v": {f"{i}\x00" * 30: "😀" * 8000 for i in range(100)}}, id="escaped_nested_keys"),
        pytest.param({("\x00" * 60 + str(i)): "\x00" * 8000 for i in range(120)}, id="escaped_label_keys"),
    ])
    def test_adversarial_bodies_fit_one_cloud_logging_entry(self, lenient: Capture,
                                                            labels: dict[str, Any]) -> None:
        """Whatever the labels, the exported body is under 256 KB as JSON, escaped or UTF-8."""
        track("adversarial", 1, 1.5, **labels)
        event = only(lenient)
        assert max(body_sizes(event.body)) < ENTRY_BYTES
        assert event.event == "adversarial" and event.value == 1.5
        assert event.labels, "some labels must survive, not all be dropped"

    def test_a_cut_nested_value_keeps_the_labels_after_it(self, lenient: Capture) -> None:
        """An amplifying nested value is cut to its share of the entry; it is not dropped, nor its siblings."""
        track("adversarial", v=[["x" * 8000] * 100] * 100, after="kept")
        labels = only(lenient).labels
        assert labels["after"] == "kept"
        assert 0 < len(labels["v"]) < 100 and labels["v"][0][0] == "x" * 8000

    def test_labels_over_the_byte_budget_are_dropped_and_counted(self, lenient: Capture) -> None:
        """When labels exceed the entry's byte budget the later ones go, counted in _dropped_labels."""
        track("adversarial", **{f"k{i:03d}": "\x00" * 8000 for i in range(120)})
        labels = only(lenient).labels
        kept = [key for key in labels if key != "_dropped_labels"]
        assert kept == [f"k{i:03d}" for i in range(len(kept))]
        assert labels["_dropped_labels"] == 120 - len(kept) > 0


class TestHostileInput:
    @pytest.mark.parametrize(("args", "labels"), [
        ((Hostile(),), {}),
        (("hostile_n", Hostile()), {}),
        (("hostile_value", 1, Hostile()), {}),
        (("hostile_label",), {"x": Hostile()}),
        (("hostile_nested",), {"x": [{"y": Hostile()}]}),
        (("items_raise",), {"x": ItemsRaise(a=1)}),
        (("iter_raises",), {"x": IterRaises([1])}),
        (("str_raises",), {"x": StrRaises()}),
        ((LoudStr("loud"), LoudStr("2"), LoudStr("1.5")), {"x": LoudStr("y")}),
    ], ids=["name", "n", "value", "label", "nested", "items", "iter", "str", "str_subclasses"])
    def test_track_never_raises_and_the_event_arrives(self, lenient: Capture, args: tuple[Any, ...],
                                                      labels: dict[str, Any]) -> None:
        """A hostile object anywhere in the call is salvaged: track() returns and one event is exported."""
        track(*args, **labels)
        event = only(lenient)
        assert json.dumps(event.body, allow_nan=False)

    def test_a_hostile_event_does_not_take_its_batch_with_it(self, lenient: Capture) -> None:
        """Events queued next to a hostile one are exported too."""
        track("before")
        track(Hostile(), Hostile(), Hostile(), x=Hostile())
        track("after")
        assert [e.event for e in lenient.events] == ["before", "unnamed_event", "after"]
        assert gyrinx_tracker.stats()["dropped"] == 0

    def test_all_bad_at_once_keeps_the_good_labels(self, lenient: Capture) -> None:
        """Bad name, n, value and labels in one call: the good labels arrive exactly."""
        track("bad name", -1, "abc", good="yes", status=200, bad=StrRaises())
        event = only(lenient)
        assert (event.event, event.n, event.value) == ("bad_name", 0, None)
        assert event.labels == {"good": "yes", "status": 200, "bad": "<unsupported StrRaises>"}


class TestWarnings:
    def test_a_cause_warns_once_then_is_rate_limited(self, lenient: Capture,
                                                     warnings: pytest.LogCaptureFixture) -> None:
        """The first bad call warns; the same mistake again within the window does not."""
        track("w", value=float("nan"))
        gyrinx_tracker.flush()
        assert len(ours(warnings)) == 1
        for _ in range(20):
            track("w", value=float("nan"))
        assert len(lenient.events) == 21
        assert len(ours(warnings)) == 1

    def test_each_cause_warns_separately(self, lenient: Capture,
                                         warnings: pytest.LogCaptureFixture) -> None:
        """Different mistakes are different causes: each is heard once."""
        track("w", value="abc")
        track("w", -1)
        track("bad name")
        track("w", x=StrRaises())
        track("w", x=float("nan"))
        gyrinx_tracker.flush()
        messages = ours(warnings)
        assert len(messages) == 5
        assert all("the rest of the event was kept" in m for m in messages)

    def test_suppressed_repeats_are_summarised_after_the_window(
            self, lenient: Capture, warnings: pytest.LogCaptureFixture,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """Once the window passes, the next warning says how many were suppressed meanwhile."""
        track("w", value="abc")
        track("w", value="abc")
        track("w", value="abc")
        gyrinx_tracker.flush()
        monkeypatch.setattr(_diagnostics.LIMIT, "window", 0.0)
        track("w", value="abc")
        gyrinx_tracker.flush()
        first, summary = ours(warnings)
        assert "suppressed" not in first
        assert summary.endswith("(2 similar warnings suppressed)")

    def test_warnings_go_to_the_tracker_logger_not_the_events_logger(
            self, lenient: Capture, warnings: pytest.LogCaptureFixture) -> None:
        """Complaints go to ``gyrinx_tracker``; ``gyrinx.tracker`` carries only events."""
        track("w", value="abc")
        gyrinx_tracker.flush()
        assert {r.name for r in warnings.records if "not a finite number" in r.getMessage()} == {"gyrinx_tracker"}

    @pytest.mark.parametrize(("args", "labels"), [
        (("w",), {"header": "Bearer s3cr3t-t0ken-value"}),
        (("w",), {"password": "s3cr3t-t0ken-value"}),
        (("w",), {"nested": {"api_key": "s3cr3t-t0ken-value"}}),
        (("w",), {"nested": ["Bearer s3cr3t-t0ken-value", StrRaises()]}),
        (("w", 1, "Bearer s3cr3t-t0ken-value"), {}),
        (("w", "Bearer s3cr3t-t0ken-value"), {}),
        (("w",), {"x": b"Bearer s3cr3t-t0ken-value", "long": "Bearer s3cr3t-t0ken-value" * 1000}),
    ], ids=["value_under_innocent_key", "secret_key", "nested_secret_key", "nested_secret_value",
            "as_value", "as_n", "as_bytes_and_long"])
    def test_warnings_never_echo_a_secret(self, lenient: Capture, warnings: pytest.LogCaptureFixture,
                                          args: tuple[Any, ...], labels: dict[str, Any]) -> None:
        """No warning quotes a credential, wherever in the call it was passed."""
        track(*args, **labels)
        event = only(lenient)
        assert "s3cr3t" not in json.dumps(event.body) + repr(event.attributes)
        assert all("s3cr3t" not in record.getMessage() for record in warnings.records)


class TestStrictMode:
    @pytest.mark.parametrize(("args", "labels"), [
        (("bad name",), {}),
        ((None,), {}),
        (("s", -1), {}),
        (("s", 2.0), {}),
        (("s", 1, float("nan")), {}),
        (("s", 1, "1.5"), {}),
        (("s",), {"x": float("nan")}),
        (("s",), {"x": StrRaises()}),
        (("s",), {"x": Hostile()}),
        ((Hostile(), Hostile(), Hostile()), {}),
        (("s",), {"x": "y" * 10_000}),
        (("s",), {"x": deep(5)}),
    ], ids=case_id)
    def test_bad_input_raises_at_the_call_site(self, args: tuple[Any, ...], labels: dict[str, Any]) -> None:
        """In strict mode every repair raises TrackerInputError where track() was called."""
        with capture_events() as captured:
            with pytest.raises(TrackerInputError):
                track(*args, **labels)
            assert captured.events == []

    @pytest.mark.parametrize("labels", [
        {"header": "Bearer abcdefgh12345"},
        {"password": "hunter2"},
    ], ids=["credential_value", "secret_key"])
    def test_redaction_is_policy_not_an_input_error(self, labels: dict[str, Any]) -> None:
        """Strict mode redacts secrets, whether found by key or by value, and does not raise for either."""
        with capture_events() as captured:
            track("s", **labels)
            (event,) = captured.events
        assert set(event.labels.values()) == {"[REDACTED]"}

    @pytest.mark.parametrize("labels", [
        {"u": uuid.UUID(int=1), "d": datetime.date(2024, 1, 2), "e": Color.RED, "s": {1, 2}},
        {"o": Model(), "b": b"hi", "t": (1, 2)},
        {"password": "hunter2", "api_key": "k"},
    ], ids=["lossless_conversions", "objects_and_bytes", "secret_keys"])
    def test_lossless_conversions_and_key_redaction_do_not_raise(self, labels: dict[str, Any]) -> None:
        """Converting a UUID or redacting a password key is the documented behaviour, not an error."""
        with capture_events() as captured:
            track("s", **labels)
            assert len(captured.events) == 1

    def test_the_error_names_the_problem_but_not_the_secret(self) -> None:
        """TrackerInputError explains what was wrong without echoing a credential."""
        with capture_events(), pytest.raises(TrackerInputError, match="not a finite number") as raised:
            track("s", value="Bearer s3cr3t-t0ken-value")
        assert "s3cr3t" not in str(raised.value)

    def test_strict_mode_is_off_by_default(self) -> None:
        """Without strict, the same call warns and exports instead of raising."""
        with capture_events(strict=False) as captured:
            track("bad name", -1)
            assert [e.event for e in captured.events] == ["bad_name"]


class TestPlainFastPath:
    def test_control_characters_never_take_the_copy_path(self) -> None:
        """Keys already known as plain, with short control-character strings (6 bytes a character in
        JSON), still stay within the 200,000-byte label budget."""
        labels = {f"k{i:03d}".ljust(60, "x"): "\x00" * 256 for i in range(128)}
        with capture_events(strict=False) as captured:
            track("ctl", **{key: "plain" for key in labels})  # the keys become known
            track("ctl", **labels)
            event = captured.events[-1]
        assert len(json.dumps(event.labels, separators=(",", ":")).encode()) <= 200_000
        assert event.labels["_dropped_labels"] > 0
