"""``gyrinx-tracker``: doctor, tail, query, summary, events and alerts, for the people who run the tracker.

Standard library only (``argparse``): the command must work in a slim Cloud Run image and on a
laptop without anything beyond the package. Never imported by ``gyrinx_tracker`` itself, so
applications do not pay for it. Exit codes (printed by ``--help``; docs/cli.md):
0 success, 1 a check found a problem (doctor, events check) or an alert would have fired (alerts
check), 2 a usage error (an argument, a filter, a time, a duration, a label or a file that cannot
be used: the message says which), 130 interrupted. Input lines that cannot be read safely are not usage errors: they are skipped and
counted on stderr (``_tally``), and the command still exits 0.
``events monitoring`` imports the OpenTelemetry SDK, a dependency of the package, only when it runs.

What belongs here: the commands, reading the three input kinds, the filter language, the views
and the catalogue tools. What must not: anything the running tracker needs (nothing below
imports this package), and any dependency beyond the standard library and the package itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from gyrinx_tracker._cli import _events_cli, _filter, _inputs, _summary, _tail
from gyrinx_tracker._cli._output import Painter, colour_enabled
from gyrinx_tracker._cli._tally import Tally
from gyrinx_tracker._version import VERSION

# When the command began, as near its start as we can see: doctor's --timeout counts from here (the
# interpreter's own start-up and the imports above, some tens of milliseconds, come before it;
# doctor's heavy imports come after). Not the process's start time from /proc: a shell that runs the
# command as its last one execs it, so the process began with the shell, maybe minutes earlier.
STARTED = time.monotonic()

_FILE_HELP = "the app's output: local JSON lines, Cloud Run stdout lines or `gcloud logging read --format=json`; - or nothing for stdin"
_EXAMPLES = """examples:
  gyrinx-tracker doctor
  gyrinx-tracker tail --follow app.log
  gyrinx-tracker query 'jsonPayload.event="api_call" jsonPayload.labels.status>=500' app.log
  gcloud logging read 'logName:"logs/tracker"' --format=json | gyrinx-tracker summary --by endpoint
  gyrinx-tracker events check --catalogue events.json myapp/
  gyrinx-tracker events monitoring --catalogue events.json -o monitoring/
  gyrinx-tracker alerts check --catalogue events.json app.log

exit codes: 0 success, 1 a check found a problem (doctor, events check) or an alert would have
fired (alerts check), 2 a usage error (an argument, filter, time, duration, label or file that
cannot be used), 130 interrupted. Lines of the input that cannot be read (nested too deep) are
skipped and counted on stderr; they do not change the exit code.
"""
USAGE = 2


class UsageError(Exception):
    """An argument the command cannot use: its message is printed, and the command exits ``USAGE``."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    args.tally = Tally()
    try:
        return handler(args)
    except _filter.FilterError as error:
        sys.stderr.write(error.render(args.filter_text) + "\n")
        return USAGE
    except UsageError as error:
        sys.stderr.write(f"gyrinx-tracker: {error}\n")
        return USAGE
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, and quietly at exit too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        sys.stderr.write(f"gyrinx-tracker: {error}\n")
        return USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        args.tally.report(sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gyrinx-tracker", description="Check, watch and summarise gyrinx_tracker events.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gyrinx-tracker {VERSION}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _doctor_parser(commands)
    _tail_parser(commands)
    _query_parser(commands)
    _summary_parser(commands)
    _events_cli.add_parser(commands)
    _events_cli.add_alerts_parser(commands, _FILE_HELP)
    return parser


def _doctor_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="show the resolved configuration and why, then send a test event",
        description="Show the configuration the tracker resolves from this environment and why (exporter, "
                    "project, region, resource, log name, metrics, redaction), the packages found for each "
                    "output, advice for each misconfiguration found, then send one test event through "
                    "track() and confirm from stats() that it was delivered. Exit 0 when all is well, 1 if not.")
    doctor.add_argument("--no-send", action="store_true", help="do not send the test event")
    doctor.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="seconds the whole command may take (default 10): every check and the test "
                             "event get what is left; one connection check takes at most 2")
    _colour_option(doctor)
    doctor.set_defaults(handler=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    """Imported here: doctor loads the tracker's outputs, which reading a log file never needs."""
    from gyrinx_tracker._cli import _doctor

    return _doctor.run(sys.stdout, _painter(args), not args.no_send, args.timeout, STARTED)


def _tail_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tail = commands.add_parser("tail", help="a live, readable view of events, one per line",
                               description="Print each tracker event as one readable line: time, severity, "
                                           "event, n, value, labels, trace.")
    tail.add_argument("file", nargs="?", metavar="FILE", help=_FILE_HELP)
    tail.add_argument("-f", "--follow", action="store_true", help="keep reading as the file grows (like tail -f)")
    tail.add_argument("-n", "--lines", type=_count, metavar="N",
                      help="start with the last N matching events (default: all, or 10 with --follow)")
    tail.add_argument("--filter", dest="filter_text", default="", metavar="FILTER",
                      help="only events matching this Cloud Logging filter (see `query --help`)")
    _colour_option(tail)
    tail.set_defaults(handler=_run_tail)


def _query_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    query = commands.add_parser(
        "query", help="entries matching a Cloud Logging filter",
        description=textwrap.fill(
                    "Print the entries matching FILTER, in the Cloud Logging query language: "
                    "field = != < <= > >= : (has) =~ !~ value; AND, OR, NOT or - ; parentheses; "
                    "terms side by side mean AND; NOT binds tightest, then OR, then AND (as in Cloud Logging). "
                    "Fields are LogEntry paths: jsonPayload.event, jsonPayload.labels.KEY, severity, "
                    "timestamp, trace, resource.type. Every input is read as LogEntry objects, so "
                    "the same query works on local files and on gcloud output.", 78),
        epilog='example: gyrinx-tracker query \'jsonPayload.event="api_call" '
               'jsonPayload.labels.endpoint="/api/v1/fighters" timestamp>="2026-11-29T10:00:00Z"\' app.log\n'
               "a filter that starts with - (NOT) goes after --: gyrinx-tracker query -- '-severity=INFO' app.log",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    query.add_argument("filter_text", metavar="FILTER", help="the filter; quote it for the shell")
    query.add_argument("file", nargs="?", metavar="FILE", help=_FILE_HELP)
    query.add_argument("--format", choices=("json", "tail"), default="json",
                       help="json: one LogEntry object per line (default); tail: the readable line")
    query.add_argument("-f", "--follow", action="store_true", help="keep reading as the file grows")
    _colour_option(query)
    query.set_defaults(handler=_run_query)


def _summary_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    summary = commands.add_parser(
        "summary", help="per event: count, sum of n, value percentiles, with a chart",
        description="Per event (or per event and label value with --by): count, sum of n, value p50/p90/p99 "
                    "(within 1%% relative error) and max, with a bar for n and a sparkline of the values. "
                    "Streams in bounded memory whatever the input's size.")
    summary.add_argument("file", nargs="?", metavar="FILE", help=_FILE_HELP)
    summary.add_argument("--by", metavar="LABEL", help="one row per value of this label")
    summary.add_argument("--since", metavar="TIME", help="entries at or after this RFC 3339 time or date")
    summary.add_argument("--until", metavar="TIME", help="entries before this RFC 3339 time or date")
    summary.add_argument("--last", metavar="DURATION", help="entries of the last 30s, 15m, 1h, 2d (from now)")
    summary.add_argument("--filter", dest="filter_text", default="", metavar="FILTER",
                         help="only entries matching this Cloud Logging filter")
    summary.add_argument("--json", action="store_true", help="one JSON document for scripts")
    _colour_option(summary)
    summary.set_defaults(handler=_run_summary)


def _colour_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the output: auto (a terminal, unless NO_COLOR is set), always, never")


def _count(text: str) -> int:
    """``-n``: a whole number of lines, 0 or more (``-n -1`` used to print nothing and exit 0)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of lines (0 or more)")
    return int(text)


def _filter_node(args: argparse.Namespace) -> _filter.Node:
    """The parsed filter; a time in it without a zone is read as UTC, and the user is told."""
    node = _filter.parse(args.filter_text)
    for value in _filter.time_values(node):
        if not _inputs.has_zone(value):
            args.tally.note(f"the filter's time {value!r} has no time zone: read as UTC")
    return node


def _painter(args: argparse.Namespace) -> Painter:
    return Painter(colour_enabled(args.color, sys.stdout))


def _run_tail(args: argparse.Namespace) -> int:
    node = _filter_node(args)
    paint = _painter(args)
    backlog = args.lines if args.lines is not None else (10 if args.follow else None)
    with _opened(args.file) as stream:
        if backlog is None:
            _tail.run(_inputs.entries(stream, args.follow, args.tally), node, sys.stdout, paint)
            return 0
        _tail.run(_tail.last(_inputs.available(stream, args.tally), node, backlog), node, sys.stdout, paint)
        if args.follow:
            _tail.run(_inputs.followed(stream, args.tally), node, sys.stdout, paint)
    return 0


def _run_query(args: argparse.Namespace) -> int:
    node = _filter_node(args)
    paint = _painter(args)
    from gyrinx_tracker._cli._match import matches

    with _opened(args.file) as stream:
        for entry in _inputs.entries(stream, args.follow, args.tally):
            if matches(node, entry):
                text = (_tail.line(entry, paint) if args.format == "tail" and _inputs.event_of(entry)
                        else json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
                sys.stdout.write(text + "\n")
                if args.follow:
                    sys.stdout.flush()
    return 0


def _run_summary(args: argparse.Namespace) -> int:
    node = _filter_node(args)
    window = _window(args)
    with _opened(args.file) as stream:
        result = _summary.collect(_inputs.entries(stream, tally=args.tally), node, window, args.by)
    if args.by is not None and result.rows and not result.by_found:
        seen = ", ".join(sorted(result.labels_seen)) or "none"
        raise UsageError(f"no event in the input has the label {args.by!r} (--by); labels seen: {seen}")
    if args.json:
        sys.stdout.write(json.dumps(_summary.as_json(result, window), indent=2) + "\n")
    else:
        _summary.print_table(result, sys.stdout, _painter(args))
    return 0


def _window(args: argparse.Namespace) -> _summary.Window:
    since = _time_arg(args, "--since", args.since)
    until = _time_arg(args, "--until", args.until)
    if args.last:
        since = time.time() - _duration(args.last)
    return _summary.Window(since, until)


def _time_arg(args: argparse.Namespace, option: str, text: str | None) -> float | None:
    if text is None:
        return None
    moment = _inputs.parse_time(text)
    if moment is None:
        raise UsageError(f"{option} {text!r} is not an RFC 3339 time or a date (2026-11-29T10:00:00Z, 2026-11-29)")
    if not _inputs.has_zone(text):
        args.tally.note(f"{option} {text!r} has no time zone: read as UTC")
    return moment


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    try:
        amount, unit = float(text[:-1]), _UNITS[text[-1]]
    except (ValueError, KeyError, IndexError):
        amount, unit = -1.0, 0
    if not (amount >= 0 and amount * unit < float("inf")):
        raise UsageError(f"--last {text!r} is not a duration such as 30s, 15m, 1h or 2d")
    return amount * unit


class _opened:
    """The input stream as a context manager that does not close standard input."""

    def __init__(self, path: str | None) -> None:
        self._stream = _inputs.open_input(path)
        if self._stream is sys.stdin and hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")  # as files are opened: bad bytes never stop the read

    def __enter__(self) -> TextIO:
        return self._stream

    def __exit__(self, *exc: object) -> None:
        if self._stream is not sys.stdin:
            self._stream.close()
