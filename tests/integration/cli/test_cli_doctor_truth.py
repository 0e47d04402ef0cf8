"""`doctor` tells what the tracker would really do: packages as the extras define them (with and
without the extras), metrics and sampling as configured, the catalogue as its loader reads it,
and its own test event exempt from the catalogue and sampling."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli.conftest import ROOT, Run, clean_env
from tests.integration.cli.test_cli_doctor import without_distributions

EXAMPLE_CATALOGUE = ROOT / "examples" / "events.json"


def _row(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"  {name} "))


def _extra(name: str) -> list[str]:
    """The extra's distributions as pyproject.toml (read as text, independently of the package) lists them."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1]
    match = re.search(rf"^{name} = \[(.*?)^\]", section, re.DOTALL | re.MULTILINE)
    assert match is not None
    return re.findall(r'^\s*"([A-Za-z0-9._-]+)', match.group(1), re.MULTILINE)


class TestPackages:
    def test_with_the_gcp_extra_installed_no_package_is_asked_for(self, cli: Run) -> None:
        """[gcp] installed, GOOGLE_CLOUD_PROJECT set: the gcp row is pyproject's extra, all found; no 'needs' advice."""
        result = cli("doctor", "--no-send", env=clean_env(GOOGLE_CLOUD_PROJECT="p"))
        row = _row(result.stdout, "gcp")
        listed = [part.strip().split(" ")[0] for part in row.split("gcp", 1)[1].split(",")]
        assert listed == _extra("gcp")
        assert "(missing)" not in row and "needs" not in result.stdout
        assert "opentelemetry-exporter-gcp-logging" not in result.stdout  # no longer in the extra
        assert _row(result.stdout, "otlp").split("otlp", 1)[1].strip().split(" ")[0] == _extra("otlp")[0]

    def test_without_the_gcp_extra_it_names_the_extras_own_package(self) -> None:
        """google-cloud-logging simulated as not installed: the error names it and the extra, nothing else."""
        result = without_distributions(["google-cloud-logging"], ["google.cloud.logging_v2"], ["doctor", "--no-send"],
                                       clean_env(GOOGLE_CLOUD_PROJECT="p"))
        assert result.returncode == 1
        assert "google-cloud-logging (missing)" in _row(result.stdout, "gcp")
        assert ("✗ the gcp (Cloud Logging API) output needs google-cloud-logging, which is not installed: "
                "events would fall back to local JSON") in result.stdout
        assert '→ pip install "gyrinx-tracker[gcp]"' in result.stdout

    def test_without_the_otlp_exporter_gcp_metrics_are_said_to_be_off(self) -> None:
        """The metric exporter (in the gcp extra) not importable: a warning that metrics cannot go to Cloud Monitoring."""
        result = without_distributions(["opentelemetry-exporter-otlp-proto-grpc"], ["opentelemetry.exporter.otlp"],
                                       ["doctor", "--no-send"], clean_env(GOOGLE_CLOUD_PROJECT="p"))
        assert "! metrics cannot go to Cloud Monitoring (opentelemetry.exporter.otlp.proto.grpc.metric_exporter" \
            in result.stdout


class TestMetricsAndSampling:
    @pytest.mark.parametrize(("env", "expected"), [
        ({}, "JSON lines through the logger gyrinx.tracker.metrics every 60 s"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "5000"}, "JSON lines through the logger gyrinx.tracker.metrics every 5 s"),
        ({"GYRINX_TRACKER_METRIC_INTERVAL": "2.5"}, "gyrinx.tracker.metrics every 2.5 s"),
        ({"GYRINX_TRACKER_LOCAL_METRICS": "false"}, "none: GYRINX_TRACKER_LOCAL_METRICS=false"),
        ({"GOOGLE_CLOUD_PROJECT": "p"}, "Cloud Monitoring through the Telemetry API (OTLP) every 60 s"),
        ({"GOOGLE_CLOUD_PROJECT": "p", "GYRINX_TRACKER_GCP_METRICS": "false"}, "none: GYRINX_TRACKER_GCP_METRICS=false"),
        ({"GYRINX_TRACKER_EXPORTER": "otlp"}, "OTLP metric exporter to the same collector every 60 s"),
    ])
    def test_the_metrics_row_is_the_pipelines_route(self, cli: Run, env: dict[str, str], expected: str) -> None:
        """Console and gcp have metrics; the interval is the one the pipeline would use."""
        result = cli("doctor", "--no-send", "--timeout", "3", env=clean_env(**env))
        assert expected in _row(result.stdout, "metrics"), result.stdout

    def test_a_bad_standard_interval_is_a_finding(self, cli: Run) -> None:
        """OTEL_METRIC_EXPORT_INTERVAL=abc would be ignored with a warning: doctor fails on it."""
        result = cli("doctor", "--no-send", env=clean_env(OTEL_METRIC_EXPORT_INTERVAL="abc"))
        assert result.returncode == 1
        assert "✗ OTEL_METRIC_EXPORT_INTERVAL='abc' is ignored" in result.stdout

    def test_sampling_as_configured_and_the_test_event_exempt(self, cli: Run) -> None:
        """Rates and caps are shown; with every event sampled out (*=0) the doctor's own event still goes out."""
        env = clean_env(GYRINX_TRACKER_SAMPLE_RATES="page_view=0.1,*=0", GYRINX_TRACKER_SAMPLE_CAPS="api_call=100")
        result = cli("doctor", env=env)
        assert _row(result.stdout, "sampling").endswith(
            "rates page_view=0.1, *=0; caps api_call=100/s (metrics still count every event)")
        assert "stats(): emitted 1, exported 1, dropped 0" in result.stdout
        assert result.returncode == 0, result.stdout


class TestCatalogue:
    def test_a_missing_catalogue_fails(self, cli: Run, tmp_path: Path) -> None:
        """A catalogue path with no file: a failing finding and exit 1 (it used to report OK)."""
        missing = tmp_path / "nope.json"
        result = cli("doctor", "--no-send", env=clean_env(GYRINX_TRACKER_CATALOGUE=str(missing)))
        assert result.returncode == 1
        assert f"✗ the event catalogue {missing} cannot be used" in result.stdout
        assert "(cannot be used)" in _row(result.stdout, "catalogue")

    def test_an_invalid_catalogue_fails(self, cli: Run, tmp_path: Path) -> None:
        """A file that is not a catalogue: the loader's reason, exit 1."""
        bad = tmp_path / "events.json"
        bad.write_text("{not json", encoding="utf-8")
        result = cli("doctor", "--no-send", env=clean_env(GYRINX_TRACKER_CATALOGUE=str(bad)))
        assert result.returncode == 1
        assert f"✗ the event catalogue {bad} cannot be used (" in result.stdout

    def test_a_valid_catalogue_is_counted_and_the_test_event_not_warned_about(self, cli: Run) -> None:
        """The example catalogue: its events counted; the doctor's own event raises no 'not in the catalogue'."""
        result = cli("doctor", env=clean_env(GYRINX_TRACKER_CATALOGUE=str(EXAMPLE_CATALOGUE)))
        assert result.returncode == 0, result.stdout
        assert re.search(r"\(\d+ events; checked on the exporter thread\)", _row(result.stdout, "catalogue"))
        assert "not in the catalogue" not in result.stdout + result.stderr


class TestTimeout:
    def test_a_shell_that_execs_doctor_last_does_not_eat_its_budget(self) -> None:
        """`sh -c '...; gyrinx-tracker doctor'` execs doctor in the shell's process, whose start time in
        /proc is the shell's: --timeout counts from the command's own start, so the test event still
        gets its time (it was given none, and doctor said "not delivered", after 4 s in the shell)."""
        script = f"sleep 4; exec {sys.executable} -m gyrinx_tracker doctor --timeout 3"
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                                env=clean_env(GYRINX_TRACKER_EXPORTER="console"), cwd=ROOT, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "flush() -> True" in result.stdout
