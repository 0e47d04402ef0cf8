"""Run by tests/packaging/test_packaging.py *inside* a fresh virtualenv that has only the built wheel installed.

It is copied into a temporary directory and run from there, so the source tree is never on
``sys.path``: everything it finds comes from the installed distribution. It prints one JSON report
on stdout; the test makes the assertions, so a failure shows the whole picture. Standard library
only, since the virtualenv has nothing but the wheel and its dependencies.

Usage: ``python packaging_check.py MODULE [MODULE ...]`` (the modules the wheel should provide).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import sys
import traceback
from typing import Any

DISTRIBUTION = "gyrinx-tracker"


def _import(name: str) -> str | None:
    """None if ``name`` imports; else ``"missing:<module>"`` for a missing module, or the error."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        return f"missing:{error.name}"
    except Exception:  # noqa: BLE001 - reported, and the test fails on anything but a missing module
        return traceback.format_exc(limit=3)
    return None


def _entry_points(distribution: importlib.metadata.Distribution) -> list[dict[str, Any]]:
    """Every entry point the installed metadata declares, and whether its target loads."""
    found = []
    for entry_point in distribution.entry_points:
        try:
            entry_point.load()
            error = None
        except Exception:  # noqa: BLE001 - reported to the test
            error = traceback.format_exc(limit=3)
        found.append({"group": entry_point.group, "name": entry_point.name, "value": entry_point.value,
                      "load_error": error})
    return found


def main(modules: list[str]) -> None:
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    imports = {name: _import(name) for name in modules}
    package = sys.modules.get("gyrinx_tracker")
    report = {
        "prefix": sys.prefix,
        "package_file": getattr(package, "__file__", None),
        "package_version": getattr(package, "__version__", None),
        "distribution_version": distribution.version,
        "py_typed": importlib.resources.files("gyrinx_tracker").joinpath("py.typed").is_file(),
        "imports": imports,
        "entry_points": _entry_points(distribution),
        "sys_path": sys.path,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
