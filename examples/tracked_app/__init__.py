"""A small app whose track() calls `gyrinx-tracker events check` reads (docs/cli.md).

Some calls break examples/events.json on purpose, so docs/cli.md shows each kind of finding.
"""
