"""The event catalogue: one JSON file in the application's repository that says what each event is.

Each entry has a description, an owner, a status (``active`` or ``deprecated``), an optional
``sample_rate``, whether ``value`` is used and its unit, and its labels as a JSON Schema object
(see ``schema`` for the subset). Names may be patterns, ``event_{verb}_{noun}``, for events whose
names are built at run time. The format and the reasons for it are in docs/catalogue.md;
``examples/events.json`` describes the original tracker's events.

What the catalogue changes:

* **Validation**, on the worker thread: an unknown event, a label that breaks its schema, or a
  ``value`` on an event that takes none is warned about (rate-limited, per cause) and the event is
  kept. In strict mode the pipeline validates on the caller's thread and these raise
  ``TrackerInputError`` at the call site. A deprecated event warns in both modes: it is still
  valid input, and a test suite should hear about it, not fail on it.
* **Metrics**: ``unit_for`` and ``description_for`` give the instruments the catalogue's words.
* **Sampling**: an entry's ``sample_rate`` applies when ``GYRINX_TRACKER_SAMPLE_RATES`` does not
  name the event.

A catalogue that cannot be read or is malformed gives one clear warning when the pipeline starts,
and the tracker runs without it: telemetry must never stop the application.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gyrinx_tracker import _guard
from gyrinx_tracker._catalogue import alerts as _alerts
from gyrinx_tracker._catalogue.alerts import AlertSpec
from gyrinx_tracker._catalogue.schema import ObjectSchema, SchemaError, object_schema
from gyrinx_tracker._catalogue.verdicts import Accepts, accepting
from gyrinx_tracker._core.problems import Problems
from gyrinx_tracker._diagnostics import warn_limited

if TYPE_CHECKING:
    from gyrinx_tracker._config import TrackerConfig
    from gyrinx_tracker._core.event import Event

STATUSES = ("active", "deprecated")
ENTRY_KEYS = frozenset({"description", "owner", "status", "sample_rate", "value", "labels", "group_by", "alerts",
                        "$comment"})
VALUE_KEYS = frozenset({"unit", "description", "required"})
TRACKER_LABELS = frozenset({"_dropped_labels"})  # added by the tracker itself, never by the caller
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CACHE_LIMIT = 10_000


class CatalogueError(ValueError):
    """The catalogue file cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One catalogue entry, compiled."""

    name: str
    description: str | None
    owner: str | None
    deprecated: bool
    sample_rate: float | None
    value_used: bool
    value_required: bool
    unit: str | None
    labels: ObjectSchema
    accepts: Accepts  # labels and value pass: the fast check, with remembered verdicts (``verdicts``)
    group_by: tuple[str, ...] = ()  # low-cardinality labels a dashboard splits the event's rate by
    alerts: tuple[AlertSpec, ...] = ()  # see ``alerts``


class Catalogue:
    """The events of one catalogue file: exact names first, then patterns in file order."""

    def __init__(self, path: str, exact: dict[str, EventSpec], patterns: list[tuple[re.Pattern[str], EventSpec]],
                 title: str | None = None) -> None:
        self.path = path
        self.title = title  # the document's "title", for the dashboard's name
        self._exact = exact
        self._patterns = patterns
        self._resolved: dict[str, EventSpec | None] = {}
        # name -> its entry's fast check, for the names that need no warning when they pass (not
        # deprecated); names that match a pattern join when first seen, up to _CACHE_LIMIT.
        self._fast: dict[str, Accepts] = {name: spec.accepts for name, spec in exact.items() if not spec.deprecated}
        self.has_rates = any(spec.sample_rate is not None
                             for spec in [*exact.values(), *(spec for _, spec in patterns)])

    def __len__(self) -> int:
        return len(self._exact) + len(self._patterns)

    def entries(self) -> list[EventSpec]:
        """Every entry: exact names, then patterns (for ``gyrinx-tracker events``)."""
        return [*self._exact.values(), *(spec for _, spec in self._patterns)]

    def spec_for(self, name: str) -> EventSpec | None:
        """The entry describing ``name``, or None when the catalogue does not know it."""
        spec = self._exact.get(name)
        if spec is not None:
            return spec
        if name in self._resolved:
            return self._resolved[name]
        spec = next((spec for pattern, spec in self._patterns if pattern.fullmatch(name)), None)
        if len(self._resolved) < _CACHE_LIMIT:
            self._resolved[name] = spec
        return spec

    def described(self, name: str) -> EventSpec | None:
        """``spec_for`` for the sampler and the metrics, which must go on if it fails (counted)."""
        try:
            return self.spec_for(name)
        except Exception as error:  # noqa: BLE001 - the catalogue is advice: never fail an export
            _guard.caught("catalogue", error)
            return None

    def sample_rate_for(self, name: str) -> float | None:
        spec = self.described(name)
        return None if spec is None else spec.sample_rate

    def review(self, event: Event) -> Problems:
        """What is wrong with ``event`` by the catalogue, as ``(cause, detail)`` for ``_core.problems``.

        Runs for every event on the worker thread: the common case (a known event whose labels
        and value pass) is a dict lookup and one call of the entry's fast check, which answers
        from remembered verdicts when the label values were seen before. Only an event it does
        not accept is reviewed in full, for the reasons. A bug here must not lose the event, so
        it is counted by the guard (``stats()["internal_errors"]["catalogue"]``) and the event
        is reported as fine.
        """
        try:
            accepts = self._fast.get(event.name)
            if accepts is not None and accepts(event.labels, event.value):
                return []
            return self._problems(event)
        except Exception as error:  # noqa: BLE001 - validation is advice; the event goes out regardless
            _guard.caught("catalogue", error)
            return []

    def _problems(self, event: Event) -> Problems:
        """The full review: every reason ``event`` breaks its entry (none when it passes)."""
        name = event.name
        spec = self.spec_for(name)
        if spec is None:
            return [("catalogue_unknown_event", f"event {name!r} is not in the catalogue {self.path}")]
        if spec.deprecated:
            warn_limited(("catalogue_deprecated", name), "event %r is deprecated in the catalogue %s "
                         "(%s)", name, self.path, spec.description or "no description")
        elif name not in self._fast and len(self._fast) < len(self._exact) + _CACHE_LIMIT:
            self._fast[name] = spec.accepts  # a name that matched a pattern: found by one lookup next time
        problems: Problems = [("catalogue_label", f"label {key!r} of event {name!r}: {reason}")
                              for key, reason in spec.labels.problems(event.labels)]
        if event.value is None:
            if spec.value_required:
                problems.append(("catalogue_missing_value", f"event {name!r} requires a value by the catalogue"))
        elif not spec.value_used:
            problems.append(("catalogue_value", f"event {name!r} takes no value by the catalogue"))
        return problems


def load(path: str) -> Catalogue:
    """Read and compile the catalogue at ``path``; ``CatalogueError`` says what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except (OSError, ValueError) as error:
        raise CatalogueError(f"cannot read it: {error}") from None
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, dict):
        raise CatalogueError('expected a JSON object with an "events" object')
    exact: dict[str, EventSpec] = {}
    patterns: list[tuple[re.Pattern[str], EventSpec]] = []
    shared: _Shared = {}
    try:
        known_channels = _alerts.channels(document)
        for name, entry in events.items():
            spec = _entry(name, entry, shared, known_channels)
            if _PLACEHOLDER.search(name):
                patterns.append((_name_pattern(name), spec))
            else:
                exact[name] = spec
        _unique_alert_names([*exact.values(), *(spec for _, spec in patterns)])
    except SchemaError as error:
        raise CatalogueError(str(error)) from None
    title = document.get("title")
    return Catalogue(path, exact, patterns, title if isinstance(title, str) else None)


def _unique_alert_names(specs: list[EventSpec]) -> None:
    """Each alert's name names its policy and rule: two alike would overwrite one another."""
    seen: dict[str, str] = {}
    for spec in specs:
        for alert in spec.alerts:
            if alert.name in seen:
                raise SchemaError(f"events.{spec.name}.alerts: the name {alert.name!r} is used by "
                                  f"events.{seen[alert.name]} too")
            seen[alert.name] = spec.name


# Compiled label schemas of one catalogue by their JSON text, each with its fast checks by
# (value used, value required): see ``_compiled``.
_Shared = dict[str, tuple[ObjectSchema, dict[tuple[bool, bool], Accepts]]]


def _compiled(labels: object, where: str, used: bool, required: bool,
              shared: _Shared) -> tuple[ObjectSchema, Accepts]:
    """The compiled schema and fast check of an entry's labels, shared by entries with the same ones.

    Why: each compiled schema is a generated function, closures, sets and lists, all tracked by
    the cyclic garbage collector, and every full collection walks them; a catalogue whose events
    repeat a few label schemas (the same ``endpoint``/``method``/``status`` on many events)
    would otherwise pay for one copy per event. Sharing is exact: a label value's verdict
    depends only on the schema, so remembered verdicts hold for every event using it, and the
    value rules are part of the key of the fast check.
    """
    try:
        key = json.dumps(labels, sort_keys=True)
    except (TypeError, ValueError):  # not from JSON (a caller's own mapping): compiled alone
        key = None
    found = None if key is None else shared.get(key)
    if found is None:
        found = (object_schema(labels, where, TRACKER_LABELS), {})
        if key is not None:
            shared[key] = found
    schema, checks = found
    accepts = checks.get((used, required))
    if accepts is None:
        accepts = checks[used, required] = accepting(schema, used, required)
    return schema, accepts


def _entry(name: str, entry: object, shared: _Shared, known_channels: Mapping[str, str] | None = None) -> EventSpec:
    where = f"events.{name}"
    if not isinstance(entry, Mapping):
        raise SchemaError(f"{where}: an entry must be an object")
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(ENTRY_KEYS))})")
    status = entry.get("status", "active")
    if status not in STATUSES:
        raise SchemaError(f"{where}.status: expected one of {', '.join(STATUSES)}")
    rate = entry.get("sample_rate")
    if rate is not None and (type(rate) not in (int, float) or not 0 <= rate <= 1):
        raise SchemaError(f"{where}.sample_rate: expected a number from 0 to 1")
    value = _value(entry.get("value"), f"{where}.value")
    used, required = value is not None, bool(value and value.get("required"))
    labels, accepts = _compiled(entry.get("labels", {}), f"{where}.labels", used, required, shared)
    description = _text(entry, "description", where)
    declared = _declared_labels(entry.get("labels", {}))
    alerts = _alerts.parse(entry.get("alerts"), f"{where}.alerts", name, description, used, declared,
                           known_channels or {})
    if alerts and _PLACEHOLDER.search(name):
        raise SchemaError(f"{where}.alerts: a pattern names many metrics; declare alerts on exact names")
    return EventSpec(name=name, description=description, owner=_text(entry, "owner", where),
                     deprecated=status == "deprecated", sample_rate=None if rate is None else float(rate),
                     value_used=used, value_required=required,
                     unit=None if value is None else _text(value, "unit", f"{where}.value"),
                     labels=labels, accepts=accepts, group_by=_group_by(entry.get("group_by"), where, declared),
                     alerts=alerts)


def _declared_labels(labels: object) -> frozenset[str] | None:
    """The label names an entry declares; None when it admits any other (``additionalProperties``)."""
    if not isinstance(labels, Mapping):
        return frozenset()
    if labels.get("additionalProperties", True) is not False:
        return None
    properties = labels.get("properties", {})
    return frozenset(properties) if isinstance(properties, Mapping) else frozenset()


def _group_by(group_by: object, where: str, declared: frozenset[str] | None) -> tuple[str, ...]:
    """``group_by``: label names, declared by the entry, that the dashboard splits the rate by."""
    if group_by is None:
        return ()
    if not isinstance(group_by, list) or not all(isinstance(key, str) for key in group_by):
        raise SchemaError(f"{where}.group_by: expected a list of label names")
    unknown = [key for key in group_by if declared is not None and key not in declared]
    if unknown:
        raise SchemaError(f"{where}.group_by: {', '.join(unknown)} not among the entry's labels")
    return tuple(group_by)


def _value(value: object, where: str) -> Mapping[str, Any] | None:
    """``value``: absent, null or false (not used), true (used), or ``{"unit", "description", "required"}``."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if not isinstance(value, Mapping) or set(value) - VALUE_KEYS:
        raise SchemaError(f"{where}: expected true, false or an object with {', '.join(sorted(VALUE_KEYS))}")
    return value


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    text = entry.get(key)
    if text is not None and not isinstance(text, str):
        raise SchemaError(f"{where}.{key}: expected text")
    return text


def name_parts(name: str) -> list[str | None]:
    """A name as its literal text and None for each placeholder: ``["event_", None, "_", None]``."""
    parts: list[str | None] = []
    end = 0
    for match in _PLACEHOLDER.finditer(name):
        parts += [name[end:match.start()], None]
        end = match.end()
    parts.append(name[end:])
    return [part for part in parts if part != ""]


def _name_pattern(name: str) -> re.Pattern[str]:
    """``event_{verb}_{noun}`` → each placeholder matches one or more name characters."""
    parts, end = [], 0
    for match in _PLACEHOLDER.finditer(name):
        parts.append(re.escape(name[end:match.start()]))
        parts.append(r"[A-Za-z0-9_.\-]+?")
        end = match.end()
    parts.append(re.escape(name[end:]))
    return re.compile("".join(parts))


# -- the catalogue of a configuration -------------------------------------------------------

_loaded: dict[str, Catalogue | None] = {}


def install(config: TrackerConfig) -> Catalogue | None:
    """Read the configuration's catalogue afresh (each pipeline start); warn and return None if unusable."""
    path = config.catalogue
    if path is None:
        return None
    try:
        catalogue: Catalogue | None = load(path)
    except Exception as error:  # noqa: BLE001 - CatalogueError, or a bug of ours: tracking goes on regardless
        warn_limited(f"catalogue:{path}", "the event catalogue %s cannot be used (%s); "
                     "events are tracked without it", path, error)
        catalogue = None
    _loaded[path] = catalogue
    return catalogue


def catalogue_for(config: TrackerConfig) -> Catalogue | None:
    """The catalogue the current pipeline loaded (loading it if no pipeline did)."""
    path = config.catalogue
    if path is None:
        return None
    return _loaded[path] if path in _loaded else install(config)


def unit_for(config: TrackerConfig, event: str) -> str | None:
    """The catalogue's unit for ``event``'s value, for its histogram; None when it gives none."""
    catalogue = catalogue_for(config)
    spec = None if catalogue is None else catalogue.described(event)
    return None if spec is None else spec.unit


def description_for(config: TrackerConfig, event: str) -> str | None:
    """The catalogue's description of ``event``, for its instruments; None when it gives none."""
    catalogue = catalogue_for(config)
    spec = None if catalogue is None else catalogue.described(event)
    return None if spec is None else spec.description
