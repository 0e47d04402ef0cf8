"""The metric names and label keys the tracker really writes for a catalogue entry, on each route.

Why derived and not written down: the instrument names, units and kinds come from
``_signals.metrics`` (the routing, the unit from the catalogue or the name) and
``_signals.metric_data`` (the exported ``Metric`` objects). Here a synthetic event of the entry is
recorded into a real ``Metrics`` aggregate and exported with ``event_metrics``, the function every
export uses; what comes out is what the tracker writes. A change there (a prefix, a unit, the
request event's unit) changes every generated artefact with it; nothing can drift.

Then each route's own renaming, as the receiving side does it:

* ``telemetry``, the tracker's own exporter to Google's Telemetry API (``_outputs/gcp/cloud_monitoring``):
  Cloud Monitoring stores OTLP points as Managed Service for Prometheus series, metric type
  ``prometheus.googleapis.com/<OTLP name>/<kind>``, the name and label keys unchanged (the API takes
  dots; PromQL quotes such names: ``{"tracker.api_call"}``).
* ``collector``, the collector's ``googlemanagedprometheus`` exporter (collector-config): the
  name goes through ``prometheus/otlptranslator``'s ``MetricNamer`` with metric suffixes on
  (the exporter's default, and our configs keep it): characters outside ``[a-zA-Z0-9:]`` split the
  name into tokens joined by ``_``, the unit's Prometheus word is appended unless present
  (``ms`` → ``milliseconds``, ``{event}`` → nothing), ``_total`` for a monotonic counter; then
  ``/counter`` or ``/histogram`` (``googlemanagedprometheus.GetMetricName``). Label keys: every
  character that is not a letter or digit becomes ``_``, ``key_`` before a leading digit
  (the Google exporter's ``sanitizeKey``). Ported from otlptranslator v1.0.0 and
  opentelemetry-operations-go v0.60.0, the versions our collector v0.160.0 builds with;
  ``tests/unit/test_monitoring_names.py`` checks the port against the upstream tests' cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opentelemetry.sdk.metrics.export import Histogram, Sum

from gyrinx_tracker._catalogue.catalogue import EventSpec, name_parts
from gyrinx_tracker._config import from_env
from gyrinx_tracker._core.event import Event
from gyrinx_tracker._signals.metric_data import event_metrics
from gyrinx_tracker._signals.metrics import Metrics
from gyrinx_tracker._stats import Stats

ROUTES = ("telemetry", "collector")
DOMAIN = "prometheus.googleapis.com/"
RESOURCE = "prometheus_target"
# A name part standing for a pattern's placeholder; lower-case letters only, so that every route's
# renaming keeps it whole, and it is replaced by a regular expression afterwards.
_HOLE = "zqxholezqx"

# otlptranslator's unit words (unit_namer.go); "1" and braced units add nothing.
_UNIT_WORDS = {"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
               "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
               "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes", "KBy": "kilobytes",
               "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes", "m": "meters", "V": "volts",
               "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz",
               "1": "", "%": "percent"}
_PER_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}
_NOT_METRIC_CHAR = re.compile(r"[^a-zA-Z0-9:]+")


@dataclass(frozen=True, slots=True)
class Instrument:
    """One instrument of an event as the tracker exports it (OTLP name, unit, kind, attribute keys)."""

    name: str
    unit: str
    kind: str  # "counter" (a monotonic cumulative sum) or "histogram"
    label_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Written:
    """One instrument as a route stores it: the Cloud Monitoring metric type, the PromQL name, the label keys."""

    instrument: Instrument
    metric_type: str
    promql_name: str
    labels: dict[str, str]  # the tracker's attribute key → the stored label key


def instruments(catalogue_path: str, spec: EventSpec) -> list[Instrument]:
    """The counter (and, for an entry with a value, the histogram) the tracker exports for ``spec``.

    A pattern entry is recorded under a name with a placeholder word in each hole (see ``pattern``).
    """
    config = from_env({"GYRINX_TRACKER_CATALOGUE": catalogue_path})
    metrics = Metrics(config, Stats())
    name = sample_name(spec.name)
    # The labels the generators ask about: those the dashboard groups by and those alerts compare.
    asked = [*spec.group_by, *(c.label for alert in spec.alerts for c in alert.match)]
    labels = dict.fromkeys(asked, "x")
    metrics.record([Event(name, 1, 1.0 if spec.value_used else None, dict(labels))])
    found = []
    for metric in event_metrics(metrics.events[name.lower()], 0, 1):
        data = metric.data
        kind = "histogram" if isinstance(data, Histogram) else "counter"
        if isinstance(data, Sum) and not data.is_monotonic:
            raise AssertionError(f"{metric.name}: the tracker's counters are monotonic sums")
        keys = tuple(sorted(data.data_points[0].attributes or {}))
        found.append(Instrument(metric.name, metric.unit or "", kind, keys))
    return found


def sample_name(name: str) -> str:
    """The entry's name, with ``_HOLE`` in place of each placeholder of a pattern."""
    return "".join(_HOLE if part is None else part for part in name_parts(name))


def written(instrument: Instrument, route: str) -> Written:
    """How ``route`` stores ``instrument``."""
    if route == "telemetry":
        quoted = '{"' + instrument.name + '"}'
        return Written(instrument, f"{DOMAIN}{instrument.name}/{instrument.kind}", quoted,
                       {key: key for key in instrument.label_keys})
    if route == "collector":
        name = prometheus_name(instrument.name, instrument.unit, instrument.kind == "counter")
        return Written(instrument, f"{DOMAIN}{name}/{instrument.kind}", name,
                       {key: label_key(key) for key in instrument.label_keys})
    raise ValueError(f"unknown route {route!r} (known: {', '.join(ROUTES)})")


def pattern(text: str) -> str:
    """A written name (metric type or PromQL name) of a pattern entry as a regular expression."""
    return ".+".join(re.escape(part) for part in text.split(_HOLE))


def prometheus_name(name: str, unit: str, monotonic_counter: bool) -> str:
    """otlptranslator's ``MetricNamer{WithMetricSuffixes: true}.Build`` for a counter or a histogram."""
    tokens = [token for token in _NOT_METRIC_CHAR.split(name) if token]
    main, per = _unit_suffixes(unit)
    main, per = _clean_unit(main), _clean_unit(per)
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.removesuffix("_")
        if per in tokens:
            per = ""
    if per:
        main = main.removesuffix("_")
    tokens += [suffix for suffix in (main, per) if suffix]
    if monotonic_counter:
        tokens = [token for token in tokens if token != "total"] + ["total"]
    result = "_".join(tokens)
    return "_" + result if result[:1].isdigit() else result


def _unit_suffixes(unit: str) -> tuple[str, str]:
    main_unit, _, per_unit = (part.strip() for part in unit.partition("/"))
    main = "" if not main_unit or "{" in main_unit or "}" in main_unit else _UNIT_WORDS.get(main_unit, main_unit)
    per = ""
    if per_unit and "{" not in per_unit and "}" not in per_unit:
        per = "per_" + _PER_UNIT_WORDS.get(per_unit, per_unit)
    return main, per


def _clean_unit(unit: str) -> str:
    """Characters outside ``[a-zA-Z0-9:]`` become one ``_``; a leading ``_`` goes."""
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9:]", "_", unit)).removeprefix("_")


def label_key(key: str) -> str:
    """The Google exporter's ``sanitizeKey``: non-alphanumerics to ``_``, ``key_`` before a digit."""
    sanitized = "".join(c if c.isalnum() else "_" for c in key)
    return "key_" + sanitized if sanitized[:1].isdigit() else sanitized
