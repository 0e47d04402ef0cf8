"""What one event becomes in a log record: the original tracker's payload and routable attributes.

The body is the original tracker's payload, so every output writes the same JSON and the Cloud
Logging queries of its documentation keep working. The attributes repeat the event and its labels
under namespaced keys for the outputs that route on attributes (OTLP, a collector's processors);
the outputs that read only the body skip them.
"""

from __future__ import annotations

from typing import Any

from gyrinx_tracker._core.event import Event

EVENT_ATTRIBUTE = "gyrinx.event"
LABEL_ATTRIBUTE_PREFIX = "gyrinx.label."
SAMPLE_RATE = "sample_rate"


def body_of(event: Event, sample_rate: float = 1.0) -> dict[str, Any]:
    """``{"event", "n", "value"?, "labels"?, "sample_rate"?}``: ``value`` only when given, ``labels``
    only when any, ``sample_rate`` only below 1.

    Exactly the original tracker's payload, so tests that compare it with ``==`` keep passing, and
    the same in every output: an entry without labels has no ``labels`` key to query. An entry
    kept by a sample rate below 1 (see ``_signals.sampling``) says by how much to scale a count of entries.
    """
    body: dict[str, Any] = {"event": event.name, "n": event.n}
    if event.value is not None:
        body["value"] = event.value
    if event.labels:
        body["labels"] = event.labels
    if sample_rate < 1.0:
        body[SAMPLE_RATE] = sample_rate
    return body


def attributes_of(event: Event, limit: int = 128) -> dict[str, Any]:
    """Attributes a collector can route on: the event and one ``gyrinx.label.<key>`` per label.

    At most ``limit`` (the SDK's attribute count limit): past it the SDK would evict the oldest
    attribute, ``gyrinx.event`` itself, and warn on every record. Labels past the limit are still
    in the body.
    """
    attributes: dict[str, Any] = {EVENT_ATTRIBUTE: event.name}
    for key, value in event.labels.items():
        if len(attributes) >= limit:
            break
        attributes[LABEL_ATTRIBUTE_PREFIX + key] = value
    return attributes
