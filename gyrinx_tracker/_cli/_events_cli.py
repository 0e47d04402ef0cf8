"""The ``events check``, ``events docs`` and ``events monitoring`` commands, and ``alerts check``: their
options, the catalogue they read, their exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from gyrinx_tracker._catalogue.catalogue import Catalogue, CatalogueError, load
from gyrinx_tracker._cli import _alerts_check, _events_check, _events_docs, _inputs

CATALOGUE_VARIABLE = "GYRINX_TRACKER_CATALOGUE"
_CHECK_EPILOG = """findings, one per line, sorted by file and line:
  error    unknown-event, unknown-label, missing-label, bad-label-value, unexpected-value,
           missing-value, untracked-event, bad-call, unreadable  (exit 1)
  warning  deprecated-event  (valid input, as at run time: does not fail the check)
  note     dynamic-name (a name built from variables: not checked), maybe-untracked
exit codes: 0 no errors, 1 errors found, 2 bad usage or a catalogue that cannot be used

example: gyrinx-tracker events check --catalogue events.json myapp/ manage.py
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    events = commands.add_parser("events", help="check code against the event catalogue; write it as Markdown, "
                                                "dashboards and alerts",
                                 description="Check the track() calls in Python sources against the event "
                                             "catalogue (events check), write the catalogue as Markdown "
                                             "(events docs), or its dashboard, alert policies and Prometheus "
                                             "rules (events monitoring).")
    actions = events.add_subparsers(title="commands", required=True, metavar="COMMAND")
    check = actions.add_parser(
        "check", help="report track() calls that break the catalogue, and events nothing tracks",
        description=textwrap.fill(
            "Read Python sources (files, and directories recursively; nothing is imported) for track() calls "
            "(track imported from gyrinx_tracker under any name, gyrinx_tracker.track, or the module under an "
            "alias) and report, with file:line:col, what breaks the catalogue.", 78),
        epilog=_CHECK_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _catalogue_option(check)
    check.add_argument("paths", nargs="+", metavar="PATH", help="a Python file or a directory to scan")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="text: one line per finding and a summary (default); json: one document for CI tools")
    check.set_defaults(handler=run_check)
    docs = actions.add_parser(
        "docs", help="the catalogue as Markdown",
        description="Write the catalogue as Markdown: one section per event (description, owner, status, "
                    "sample rate, value and unit, patterns explained) with a table of its labels. The same "
                    "catalogue always gives the same output.")
    _catalogue_option(docs)
    docs.add_argument("-o", "--output", metavar="FILE", default="-", help="write to FILE (default: standard output)")
    docs.set_defaults(handler=run_docs)
    monitoring = actions.add_parser(
        "monitoring", help="write a Cloud Monitoring dashboard, alert policies and Prometheus rules",
        description=textwrap.fill(
            "Write into DIR: dashboard.json (per owner, each active event's rate and value percentiles), "
            "alerts/NAME.json (one alert policy per declared alert), prometheus/rules.yaml (recording and "
            "alerting rules) and README.md (the gcloud commands and the IAM they need). Metric names are "
            "derived from the code that names the instruments. The same catalogue always gives the same files.", 78))
    _catalogue_option(monitoring)
    monitoring.add_argument("-o", "--output", metavar="DIR", required=True, help="the directory to write into")
    monitoring.add_argument("--route", choices=("telemetry", "collector"), default="telemetry",
                            help="whose metric names the dashboard and policies read: telemetry, the tracker's own "
                                 "export to the Telemetry API (default); collector, the collector's "
                                 "googlemanagedprometheus exporter")
    monitoring.set_defaults(handler=run_monitoring)


def add_alerts_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], file_help: str) -> None:
    alerts = commands.add_parser("alerts", help="evaluate the catalogue's alerts over logs",
                                 description="Evaluate the event catalogue's alerts over the app's logs.")
    actions = alerts.add_subparsers(title="commands", required=True, metavar="COMMAND")
    check = actions.add_parser(
        "check", help="which alerts would fire over these logs, and when (exit 1 if any)",
        description=textwrap.fill(
            "Evaluate every alert the catalogue declares over the input (the same inputs as summary) and print "
            "which would fire and when. Counts are scaled back by each entry's sample_rate. Exit codes: 0 none "
            "fired, 1 some fired, 2 bad usage or an unusable catalogue.", 78))
    _catalogue_option(check)
    check.add_argument("file", nargs="?", metavar="FILE", help=file_help)
    check.add_argument("--json", action="store_true", help="one JSON document for scripts")
    check.set_defaults(handler=run_alerts_check)


def _catalogue_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalogue", metavar="PATH",
                        help=f"the catalogue's JSON file (default: ${CATALOGUE_VARIABLE})")


def _catalogue(args: argparse.Namespace) -> Catalogue | None:
    """The catalogue named by the options or the environment; None (after saying why) if unusable."""
    path = args.catalogue or os.environ.get(CATALOGUE_VARIABLE)
    if not path:
        sys.stderr.write(f"gyrinx-tracker events: no catalogue: pass --catalogue PATH or set {CATALOGUE_VARIABLE}\n")
        return None
    try:
        return load(path)
    except CatalogueError as error:
        sys.stderr.write(f"gyrinx-tracker events: the catalogue {path} cannot be used: {error}\n")
        return None


def run_check(args: argparse.Namespace) -> int:
    catalogue = _catalogue(args)
    if catalogue is None:
        return 2
    report = _events_check.check(catalogue, args.paths)
    if args.format == "json":
        sys.stdout.write(json.dumps(_events_check.as_json(report, catalogue.path), indent=2) + "\n")
    else:
        _events_check.write_text(report, sys.stdout)
    return 1 if report.count("error") else 0


def run_monitoring(args: argparse.Namespace) -> int:
    catalogue = _catalogue(args)
    if catalogue is None:
        return 2
    from gyrinx_tracker._monitoring import generate  # the OpenTelemetry SDK: only for this command
    from gyrinx_tracker._monitoring.model import MonitoringError

    try:
        files = generate.artefacts(catalogue, args.route)
    except MonitoringError as error:
        sys.stderr.write(f"gyrinx-tracker events monitoring: {error}\n")
        return 2
    generate.write(args.output, files)
    sys.stdout.write(f"wrote {len(files)} files to {args.output}\n")
    return 0


def run_alerts_check(args: argparse.Namespace) -> int:
    catalogue = _catalogue(args)
    if catalogue is None:
        return 2
    stream = _inputs.open_input(args.file)
    try:
        result = _alerts_check.evaluate(catalogue, _inputs.entries(stream))
    finally:
        if stream is not sys.stdin:
            stream.close()
    if args.json:
        sys.stdout.write(json.dumps(_alerts_check.as_json(result), indent=2) + "\n")
    else:
        _alerts_check.write_text(result, sys.stdout)
    return 1 if result.fired else 0


def run_docs(args: argparse.Namespace) -> int:
    catalogue = _catalogue(args)
    if catalogue is None:
        return 2
    text = _events_docs.render(catalogue)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    return 0
