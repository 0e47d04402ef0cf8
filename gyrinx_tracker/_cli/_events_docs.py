"""``events docs``: the catalogue as Markdown, one section per event, for people who add events.

The catalogue is first loaded by ``_catalogue.load`` (so a file the tracker would refuse is refused
here with the same message), then its JSON is read again for what compiling drops: the words of
each label's rules. Entries keep the file's order, and nothing depends on time or machine, so the
same file always gives the same Markdown (commit it, diff it in review).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from gyrinx_tracker._catalogue.catalogue import Catalogue, name_parts

_HOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME_CHARACTERS = "letters, digits, `_`, `.` and `-`"


def render(catalogue: Catalogue) -> str:
    """The whole document."""
    with open(catalogue.path, encoding="utf-8") as file:
        events: Mapping[str, Any] = json.load(file)["events"]
    lines = [f"# Event catalogue\n\n{len(events)} events, from `{catalogue.path}` "
             "(written by `gyrinx-tracker events docs`).\n"]
    lines += [f"- [`{name}`](#{_anchor(name)})" for name in events]
    for name, entry in events.items():
        lines += ["", *_section(name, entry)]
    return "\n".join(lines) + "\n"


def _section(name: str, entry: Mapping[str, Any]) -> list[str]:
    lines = [f"## `{name}`", ""]
    if entry.get("status") == "deprecated":
        lines += ["**Deprecated.**", ""]
    lines += [_cell(entry.get("description") or "No description."), ""]
    if None in name_parts(name):
        lines += [_pattern(name), ""]
    lines += ["| | |", "|---|---|", f"| owner | {_cell(entry.get('owner') or '—')} |",
              f"| status | {entry.get('status', 'active')} |",
              f"| sample rate | {_rate(entry.get('sample_rate'))} |", f"| value | {_value(entry.get('value'))} |", ""]
    return lines + _labels(entry.get("labels", {}))


def _pattern(name: str) -> str:
    holes = iter(_HOLE.findall(name))
    shown = ", then ".join(f"`{part}`" if part is not None else f"a *{next(holes)}*" for part in name_parts(name))
    return (f"**Pattern**: names built at run time. `{name}` matches {shown}; each placeholder stands for "
            f"one or more {_NAME_CHARACTERS}. A name with an exact entry of its own is described there instead.")


def _rate(rate: object) -> str:
    return "not set (1: every event)" if rate is None else f"{rate:g}"


def _value(value: object) -> str:
    if value is None or value is False:
        return "none: the event takes no `value`"
    if value is True:
        return "optional, no unit"
    assert isinstance(value, Mapping)
    words = ["required" if value.get("required") else "optional", f"unit `{value['unit']}`" if "unit" in value else "no unit"]
    text = ", ".join(words)
    return _cell(text + (f": {value['description']}" if value.get("description") else ""))


def _labels(schema: Mapping[str, Any]) -> list[str]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    others = ("Other labels: **not allowed** (`additionalProperties` is false)." if schema.get("additionalProperties") is False
              else "Other labels: allowed.")
    if not properties:
        return ["No labels described.", "", others]
    rows = ["| label | type | required | allowed values / pattern | description |", "|---|---|---|---|---|"]
    for key, rules in properties.items():
        rows.append(f"| `{key}` | {_type(rules)} | {'yes' if key in required else 'no'} | {_cell(_allowed(rules))} "
                    f"| {_cell(rules.get('description', ''))} |")
    return [*rows, "", others]


def _type(rules: Mapping[str, Any]) -> str:
    kind = rules.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _allowed(rules: Mapping[str, Any]) -> str:
    words = []
    if "enum" in rules:
        words.append("one of " + ", ".join(f"`{json.dumps(item)}`" for item in rules["enum"]))
    if "const" in rules:
        words.append(f"exactly `{json.dumps(rules['const'])}`")
    if "pattern" in rules:
        words.append(f"matches `{rules['pattern']}`")
    for key, text in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"),
                      ("minimum", ">= {}"), ("maximum", "<= {}"), ("exclusiveMinimum", "> {}"), ("exclusiveMaximum", "< {}")):
        if key in rules:
            words.append(text.format(rules[key]))
    return "; ".join(words) or "any"


def _cell(text: str) -> str:
    """Text that stays inside one table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _anchor(name: str) -> str:
    """GitHub's heading anchor for "## `name`": lower case, punctuation other than - and _ dropped."""
    return "".join(char for char in name.lower() if char.isalnum() or char in "-_ ").replace(" ", "-")
