"""``events check``: the ``track()`` calls found in the source, judged by the catalogue.

The rules are the tracker's own run-time rules (``Catalogue.review``), applied to what the source
says for certain: a label is unknown only where the event's schema sets ``additionalProperties``
to false (as at run time: the catalogue allows extra labels otherwise); a required label is missing
only when the call has no ``**labels`` spread; a label value is checked only when it is a literal.
Severities: *error* (exit 1), *warning* (a deprecated event: valid input, as at run time, so it
does not fail the check), *note* (what could not be checked: a name built from variables).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from gyrinx_tracker._catalogue.catalogue import TRACKER_LABELS, Catalogue, EventSpec
from gyrinx_tracker._cli import _events_names, _events_scan
from gyrinx_tracker._cli._events_scan import TrackCall

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    column: int
    severity: str
    code: str
    message: str
    event: str | None = None


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    calls: int = 0
    entries: int = 0
    tracked: int = 0

    def count(self, severity: str) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)


def check(catalogue: Catalogue, paths: Iterable[str]) -> Report:
    """Scan ``paths`` and judge every call; raises ``FileNotFoundError`` for a path that does not exist."""
    report = Report(entries=len(catalogue))
    used: set[str] = set()
    unresolved: list[_events_scan.Template | None] = []
    for path in _events_scan.sources(paths):
        report.files += 1
        calls = _events_scan.scan(path)
        if isinstance(calls, _events_scan.Unreadable):
            report.findings.append(Finding(calls.path, calls.line, calls.column, "error", "unreadable", calls.reason))
            continue
        for call in calls:
            report.calls += 1
            resolved = _events_names.resolve(catalogue, call.name, call.written)
            if resolved.spec is not None:
                used.add(resolved.spec.name)
            elif not resolved.unknown:
                unresolved.append(call.name)
            report.findings += _judge(catalogue, call, resolved)
    report.tracked = len(used)
    report.findings += _untracked(catalogue, used, unresolved)
    report.findings.sort()
    return report


def _judge(catalogue: Catalogue, call: TrackCall, resolved: _events_names.Resolved) -> list[Finding]:
    def finding(severity: str, code: str, message: str) -> Finding:
        return Finding(call.path, call.line, call.column, severity, code, message, resolved.shown)

    found = [finding("error", "bad-call", problem) for problem in call.problems]
    spec = resolved.spec
    if spec is None:
        if resolved.unknown:
            return [*found, finding("error", "unknown-event", f"event {resolved.shown} is not in the catalogue")]
        return [*found, finding("note", "dynamic-name", f"dynamic name {resolved.shown}, not checked")]
    if spec.deprecated:
        found.append(finding("warning", "deprecated-event",
                             f"event {spec.name!r} is deprecated in the catalogue: {spec.description or 'no description'}"))
    found += [finding("error", code, message) for code, message in problems(spec, call)]
    return found


def problems(spec: EventSpec, call: TrackCall) -> list[tuple[str, str]]:
    """``(code, message)`` for each way ``call`` breaks ``spec``, by what its source says for certain."""
    schema = spec.labels
    found: list[tuple[str, str]] = []
    for label in call.labels:
        check = schema.properties.get(label.name)
        if check is None:
            if not schema.additional and label.name not in TRACKER_LABELS:
                found.append(("unknown-label", f"label {label.name!r} is not in the catalogue entry {spec.name!r} "
                                               "(additionalProperties is false)"))
        elif label.literal:
            reason = check(label.value)
            if reason is not None:
                found.append(("bad-label-value", f"label {label.name!r} of event {spec.name!r}: {reason}"))
    given = {label.name for label in call.labels}
    if not call.spread:
        found += [("missing-label", f"label {key!r} is required by event {spec.name!r}")
                  for key in schema.required if key not in given]
    if call.value_given and not spec.value_used:
        found.append(("unexpected-value", f"event {spec.name!r} takes no value by the catalogue"))
    elif spec.value_required and not call.value_given and not call.spread:
        found.append(("missing-value", f"event {spec.name!r} requires a value by the catalogue"))
    return found


def _untracked(catalogue: Catalogue, used: set[str], unresolved: list[_events_scan.Template | None]) -> list[Finding]:
    """A finding for each entry no call tracks, at its line in the catalogue file."""
    text = _read(catalogue.path)
    found = []
    for spec in catalogue.entries():
        if spec.name in used:
            continue
        line, column = _position(text, spec.name)
        if any(_events_names.could_be(name, spec.name) for name in unresolved):
            found.append(Finding(catalogue.path, line, column, "note", "maybe-untracked",
                                 f"event {spec.name!r}: no call names it, though a dynamic name might", spec.name))
        else:
            found.append(Finding(catalogue.path, line, column, "error", "untracked-event",
                                 f"event {spec.name!r} is in the catalogue but nothing tracks it", spec.name))
    return found


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def _position(text: str, name: str) -> tuple[int, int]:
    """Line and column (from 1) of ``"name":`` in the catalogue's text; 1, 1 if not found as written."""
    match = re.search(re.escape(json.dumps(name)) + r"\s*:", text)
    if match is None:
        return 1, 1
    line = text.count("\n", 0, match.start()) + 1
    return line, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1


def write_text(report: Report, out: TextIO) -> None:
    for f in report.findings:
        out.write(f"{f.path}:{f.line}:{f.column}: {f.severity} [{f.code}] {f.message}\n")
    out.write(summary(report) + "\n")


def summary(report: Report) -> str:
    counts = ", ".join(_plural(report.count(severity), severity) for severity in SEVERITIES)
    return (f"{counts}; {_plural(report.calls, 'track() call')} in {_plural(report.files, 'file')}; "
            f"{report.tracked} of {report.entries} catalogue events tracked")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def as_json(report: Report, catalogue: str) -> dict[str, Any]:
    return {"catalogue": catalogue, "findings": [asdict(finding) for finding in report.findings],
            "summary": {"errors": report.count("error"), "warnings": report.count("warning"),
                        "notes": report.count("note"), "calls": report.calls, "files": report.files,
                        "events": report.entries, "tracked": report.tracked}}
