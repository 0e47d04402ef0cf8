"""``gyrinx-tracker events monitoring``: write every artefact of a catalogue into one directory.

The same catalogue always gives the same files (sorted keys, no dates), so a repository can keep
them and a test can check that they are up to date (``collector-config/monitoring``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from gyrinx_tracker._catalogue.catalogue import Catalogue
from gyrinx_tracker._monitoring import dashboard, policies, readme, rules
from gyrinx_tracker._monitoring.model import monitored


def artefacts(catalogue: Catalogue, route: str) -> dict[str, str]:
    """Relative path → text of every file, for ``route``'s metric names (rules: always the collector's)."""
    entries = monitored(catalogue, route)
    title = catalogue.title or "gyrinx tracker: events"
    files = {"dashboard.json": _json(dashboard.dashboard(entries, title))}
    for entry in entries:
        for alert in entry.spec.alerts:
            files[f"alerts/{alert.name}.json"] = _json(policies.policy(entry, alert))
    document, notes = rules.rules(monitored(catalogue, "collector"))
    files["prometheus/rules.yaml"] = rules.to_yaml(document, notes)
    files["README.md"] = readme.render(catalogue, entries, route, notes)
    return files


def write(directory: str, files: dict[str, str]) -> None:
    """Write ``files`` under ``directory``; generated alert policies no longer declared are removed."""
    alerts = os.path.join(directory, "alerts")
    if os.path.isdir(alerts):
        for name in os.listdir(alerts):
            if name.endswith(".json") and f"alerts/{name}" not in files:
                os.remove(os.path.join(alerts, name))
    for path, text in files.items():
        target = os.path.join(directory, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as file:
            file.write(text)


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
