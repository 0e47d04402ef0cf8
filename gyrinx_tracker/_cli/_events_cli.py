"""The ``events check`` and ``events docs`` commands: their options, the catalogue they read, their exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from gyrinx_tracker._catalogue.catalogue import Catalogue, CatalogueError, load
from gyrinx_tracker._cli import _events_check, _events_docs

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
    events = commands.add_parser("events", help="check code against the event catalogue; write it as Markdown",
                                 description="Check the track() calls in Python sources against the event "
                                             "catalogue (events check), or write the catalogue as Markdown "
                                             "(events docs).")
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
