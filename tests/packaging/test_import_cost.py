"""What ``import gyrinx_tracker`` loads: the hooks, and none of what only a pipeline needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

# Loaded by the first track() or configure(), never by the import: the pipeline and what it pulls in.
DEFERRED = {"gyrinx_tracker._pipeline.pipeline", "gyrinx_tracker._core.sanitize", "gyrinx_tracker._config",
            "gyrinx_tracker._pipeline.lifecycle", "gyrinx_tracker._catalogue.catalogue", "gyrinx_tracker._core.encode",
            "gyrinx_tracker._core.redact", "opentelemetry.context", "logging", "decimal", "json", "inspect",
            "dataclasses"}


def _run(code: str, **env: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter that then prints its modules and its SIGTERM handler."""
    script = code + ("\nimport signal, sys\nmodules = sorted(sys.modules)\nimport json\n"  # json: after the list
                     "print(json.dumps({'modules': modules,"
                     " 'sigterm': getattr(signal.getsignal(signal.SIGTERM), '__name__', None)}))")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("GYRINX_TRACKER_")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                            env={**environ, **env}, timeout=60, check=True)
    found: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return found


class TestImportIsLight:
    def test_import_defers_the_pipeline_and_its_stdlib(self) -> None:
        """A bare ``import gyrinx_tracker`` loads neither the pipeline nor logging, json, re's users or OTel."""
        loaded = set(_run("import gyrinx_tracker")["modules"])  # type: ignore[call-overload]
        assert DEFERRED.isdisjoint(loaded), DEFERRED & loaded

    def test_import_still_installs_the_sigterm_handler(self) -> None:
        """The import on the main thread installs the SIGTERM handler, as before the imports were deferred."""
        assert _run("import gyrinx_tracker")["sigterm"] == "_handle_sigterm"

    def test_the_variable_still_turns_the_handler_off(self) -> None:
        """GYRINX_TRACKER_HANDLE_SIGTERM=false, read at import, leaves SIGTERM alone."""
        assert _run("import gyrinx_tracker", GYRINX_TRACKER_HANDLE_SIGTERM="false")["sigterm"] != "_handle_sigterm"

    def test_a_bad_value_keeps_the_handler(self) -> None:
        """An unreadable value installs the handler (the pipeline's own reading warns about it)."""
        assert _run("import gyrinx_tracker", GYRINX_TRACKER_HANDLE_SIGTERM="maybe")["sigterm"] == "_handle_sigterm"

    def test_the_first_track_loads_what_was_deferred(self) -> None:
        """The deferred modules arrive with the first pipeline, and the event is delivered."""
        found = _run("import gyrinx_tracker as t\nt.track('user_login')\nassert t.flush(10)\n"
                     "assert t.stats()['exported'] == 1, t.stats()", GYRINX_TRACKER_EXPORTER="console")
        assert {"gyrinx_tracker._pipeline.pipeline", "logging", "opentelemetry.context"} <= set(found["modules"])  # type: ignore[call-overload]
