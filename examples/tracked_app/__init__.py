"""A small app whose track() calls `gyrinx-tracker events check` reads (README: Command line).

Some calls break examples/events.json on purpose, so the README shows each kind of finding.
"""
