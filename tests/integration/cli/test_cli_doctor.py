"""`doctor`: the resolved configuration, advice for each misconfiguration, and a test event confirmed
by the receiving server's own count (loopback Cloud Logging server, OTLP receiver)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.integration.cli.conftest import ROOT, Run, clean_env
from tests.servers.cloud_logging import CloudLoggingServer
from tests.servers.metadata import MetadataServer
from tests.servers.otlp import OtlpReceiver
from tests.servers.otlp_http import OtlpHttpReceiver

pytest_plugins = ("tests.servers.fixtures",)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _row(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"  {name} "))


class TestConfiguration:
    def test_on_a_laptop_it_explains_the_local_default_and_delivers(self, cli: Run) -> None:
        """No Google variables: console chosen by auto and why; no sampling configured, so none; the event printed."""
        result = cli("doctor")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "console  (auto: none of GOOGLE_CLOUD_PROJECT, K_SERVICE, CLOUD_RUN_JOB is set" in _row(result.stdout, "exporter")
        assert _row(result.stdout, "sampling").endswith("none: every event is logged (GYRINX_TRACKER_SAMPLE_RATES and "
                                                        "SAMPLE_CAPS are unset or 1)")
        assert "allowed keys: —" in _row(result.stdout, "redaction")
        assert "stats(): emitted 1, exported 1, dropped 0" in result.stdout
        assert '"event":"gyrinx_tracker_doctor"' in result.stderr and result.stdout.rstrip().endswith("OK")

    def test_no_send_skips_the_event(self, cli: Run) -> None:
        """--no-send reports and checks but tracks nothing."""
        result = cli("doctor", "--no-send")
        assert result.returncode == 0 and "Test event" not in result.stdout and "gyrinx_tracker_doctor" not in result.stderr

    def test_a_disabled_tracker_is_a_warning_and_nothing_is_sent(self, cli: Run) -> None:
        """GYRINX_TRACKER_EXPORTER=none: doctor says track() does nothing, sends nothing, and passes."""
        result = cli("doctor", env=clean_env(GYRINX_TRACKER_EXPORTER="none"))
        assert result.returncode == 0, result.stdout
        assert "! GYRINX_TRACKER_EXPORTER=none: track() does nothing here" in result.stdout
        assert "Test event" not in result.stdout

    def test_an_ignored_value_is_an_error_with_its_variable(self, cli: Run) -> None:
        """A value the tracker would ignore is named, with what to fix, and fails the check."""
        result = cli("doctor", "--no-send", env=clean_env(GYRINX_TRACKER_EXPORTER="consol", GYRINX_TRACKER_MAX_QUEUE="-1"))
        assert result.returncode == 1
        assert "✗ GYRINX_TRACKER_EXPORTER='consol' is ignored (expected one of auto, console, gcp, otlp, none)" in result.stdout
        assert "GYRINX_TRACKER_MAX_QUEUE='-1' is ignored" in result.stdout


class TestDelivery:
    def test_cloud_logging_api_delivery_matches_the_servers_count(self, cli: Run,
                                                                  cloud_logging_server: CloudLoggingServer) -> None:
        """On Cloud Run to the loopback Cloud Logging server: resource and log shown; the server stored the one event."""
        env = clean_env(K_SERVICE="gyrinx", K_REVISION="gyrinx-00042-abc", K_CONFIGURATION="gyrinx",
                        GOOGLE_CLOUD_PROJECT="p", GYRINX_TRACKER_GCP_REGION="europe-west2",
                        GYRINX_TRACKER_CLOUD_LOGGING_ENDPOINT=cloud_logging_server.endpoint)
        result = cli("doctor", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "gcp  (auto: GOOGLE_CLOUD_PROJECT=p is set" in _row(result.stdout, "exporter")
        assert _row(result.stdout, "resource").endswith(
            "cloud_run_revision {project_id=p, location=europe-west2, service_name=gyrinx, "
            "revision_name=gyrinx-00042-abc, configuration_name=gyrinx}")
        assert "projects/p/logs/tracker" in _row(result.stdout, "log")
        assert "stats(): emitted 1, exported 1, dropped 0" in result.stdout
        (entry,) = cloud_logging_server.entries()
        assert entry["jsonPayload"]["event"] == "gyrinx_tracker_doctor"
        assert entry["logName"] == "projects/p/logs/tracker"

    def test_cloud_run_stdout_delivery_prints_the_structured_line(self, cli: Run) -> None:
        """With the stdout transport the test event is one Cloud Run structured line on stdout."""
        env = clean_env(GYRINX_TRACKER_EXPORTER="gcp", GYRINX_TRACKER_GCP_TRANSPORT="stdout", GOOGLE_CLOUD_PROJECT="p")
        result = cli("doctor", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "run.googleapis.com/stdout" in _row(result.stdout, "log")
        (line,) = [line for line in result.stdout.splitlines() if line.startswith("{")]
        entry = json.loads(line)
        assert (entry["event"], entry["labels"], entry["severity"]) == ("gyrinx_tracker_doctor", {"check": "doctor"}, "INFO")

    def test_otlp_delivery_matches_the_receivers_count(self, cli: Run, otlp_receiver: OtlpReceiver) -> None:
        """To the loopback OTLP receiver: the endpoint's source named, reachability checked, one record received."""
        env = clean_env(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
                        OTEL_SERVICE_NAME="gyrinx-web")
        result = cli("doctor", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        # The process's own instance id and pid sit beside the service name (docs/opentelemetry.md).
        assert re.search(r"\{process\.pid=\d+, service\.instance\.id=[0-9a-f-]{36}, service\.name=gyrinx-web\}  "
                         r"\(OTEL_SERVICE_NAME\)$", _row(result.stdout, "resource"))
        assert f"{otlp_receiver.endpoint}  (OTEL_EXPORTER_OTLP_ENDPOINT)" in _row(result.stdout, "endpoint")
        assert "✓ the OTLP collector at 127.0.0.1:" in result.stdout
        assert "stats(): emitted 1, exported 1, dropped 0" in result.stdout
        (record,) = otlp_receiver.log_records()
        assert record["event_name"] == "gyrinx_tracker_doctor"

    def test_otlp_over_http_names_the_endpoint_the_exporter_posts_to(self, cli: Run) -> None:
        """OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf: the row shows the URL the logs are POSTed to (the
        generic endpoint with /v1/logs, as the HTTP transport builds it), reachability is checked on that
        port, and the loopback OTLP/HTTP receiver's own count confirms the test event."""
        with OtlpHttpReceiver() as receiver:
            env = clean_env(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
            result = cli("doctor", env=env)
            assert result.returncode == 0, result.stdout + result.stderr
            assert _row(result.stdout, "endpoint").endswith(
                f"{receiver.endpoint}/v1/logs  (OTEL_EXPORTER_OTLP_ENDPOINT, http/protobuf from "
                "OTEL_EXPORTER_OTLP_PROTOCOL)")
            assert f"✓ the OTLP collector at {receiver.endpoint[7:]} accepts connections" in result.stdout
            assert "stats(): emitted 1, exported 1, dropped 0" in result.stdout
            (record,) = receiver.log_records()
            assert record["event_name"] == "gyrinx_tracker_doctor"

    def test_the_http_default_endpoint_is_port_4318(self, cli: Run) -> None:
        """No endpoint set and protocol http/protobuf: the HTTP exporter's default, not gRPC's 4317."""
        env = clean_env(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="http/protobuf")
        result = cli("doctor", "--no-send", "--timeout", "2", env=env)
        assert _row(result.stdout, "endpoint").endswith(
            "http://localhost:4318/v1/logs  (the OTLP/HTTP default, http/protobuf from "
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL)")
        assert "the OTLP collector at localhost:4318" in result.stdout


class TestAdvice:
    @pytest.mark.slow
    def test_an_unreachable_collector_is_named_and_the_event_counted_as_not_delivered(self, cli: Run) -> None:
        """OTLP to a closed port: the TCP check fails with advice, the event is dropped, exit 1."""
        endpoint = f"http://127.0.0.1:{_closed_port()}"
        env = clean_env(GYRINX_TRACKER_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
                        GYRINX_TRACKER_EXPORT_TIMEOUT="1")
        result = cli("doctor", "--timeout", "5", env=env)
        assert result.returncode == 1
        assert f"✗ the OTLP collector at {endpoint[7:]} is unreachable" in result.stdout
        assert "→ start the collector" in result.stdout
        assert "✗ not delivered" in result.stdout and "'export_failed': 1" in result.stdout

    def test_missing_google_credentials_are_explained(self, cli: Run) -> None:
        """Cloud Logging API without credentials: google.auth.default's error and how to get credentials."""
        env = clean_env(GYRINX_TRACKER_EXPORTER="gcp", GOOGLE_CLOUD_PROJECT="p",
                        GOOGLE_APPLICATION_CREDENTIALS="/nonexistent/key.json")
        result = cli("doctor", "--no-send", env=env)
        assert result.returncode == 1
        assert "✗ no Google credentials: " in result.stdout and "/nonexistent/key.json" in result.stdout
        assert "gcloud auth application-default login" in result.stdout

    def test_no_project_on_cloud_run_is_explained(self, cli: Run) -> None:
        """K_SERVICE set, no GOOGLE_CLOUD_PROJECT and a metadata server (a MOCK) without one: error and advice."""
        with MetadataServer(values={}) as metadata:
            env = clean_env(K_SERVICE="gyrinx", GYRINX_TRACKER_GCP_REGION="europe-west2", **metadata.env())
            result = cli("doctor", "--no-send", env=env)
            asked = metadata.paths()
        assert result.returncode == 1
        assert "/computeMetadata/v1/project/project-id" in asked
        assert "✗ no Google Cloud project on Cloud Run (K_SERVICE is set): events would fall back to local JSON" in result.stdout
        assert "→ set GOOGLE_CLOUD_PROJECT" in result.stdout
        assert "the tracker warned: gyrinx_tracker: could not read project/project-id" in result.stdout

    def test_a_missing_extra_is_named_and_the_fallback_detected(self) -> None:
        """With the otlp extra's distribution simulated as not installed (a child whose meta-path blocker
        refuses its modules and whose metadata look-up does not find it), doctor names the extra to
        install and sees the tracker's real fallback to local JSON."""
        result = without_distributions(["opentelemetry-exporter-otlp-proto-grpc"], ["opentelemetry.exporter.otlp"],
                                       ["doctor"], clean_env(GYRINX_TRACKER_EXPORTER="otlp"))
        assert result.returncode == 1
        assert "opentelemetry-exporter-otlp-proto-grpc (missing)" in result.stdout
        assert "✗ the otlp output needs opentelemetry-exporter-otlp-proto-grpc, which is not installed" in result.stdout
        assert '→ pip install "gyrinx-tracker[otlp]"' in result.stdout
        assert "✗ not delivered: it fell back to local JSON" in result.stdout


def without_distributions(distributions: list[str], modules: list[str], argv: list[str],
                          env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``gyrinx-tracker ARGV`` in a child where ``distributions`` look not installed: a meta-path
    blocker refuses ``modules`` (and their submodules), and ``importlib.metadata`` does not find the
    distributions (a simulation of an environment without the extra, named as such)."""
    driver = textwrap.dedent(f"""
        import importlib.metadata, sys
        BLOCKED_MODULES, BLOCKED = {modules!r}, {distributions!r}
        class Uninstalled:
            def find_spec(self, name, path=None, target=None):
                if any(name == m or name.startswith(m + ".") for m in BLOCKED_MODULES):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Uninstalled())
        found = importlib.metadata.Distribution.from_name.__func__
        def from_name(cls, name):
            if name.lower().replace("_", "-") in BLOCKED:
                raise importlib.metadata.PackageNotFoundError(name)
            return found(cls, name)
        importlib.metadata.Distribution.from_name = classmethod(from_name)
        from gyrinx_tracker._cli import main
        sys.exit(main({argv!r}))
    """)
    return subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, timeout=120, env=env,
                          cwd=ROOT)


class TestCommandLine:
    @pytest.mark.parametrize("command", ["doctor", "tail", "query", "summary", "events", None])
    def test_every_command_has_help(self, cli: Run, command: str | None) -> None:
        """--help prints usage for the command and exits 0."""
        result = cli(*([command] if command else []), "--help")
        assert result.returncode == 0
        assert result.stdout.startswith(f"usage: gyrinx-tracker {command or ''}".rstrip())

    def test_the_installed_script_is_the_same_command(self) -> None:
        """The gyrinx-tracker script installed with the package runs main()."""
        script = Path(sys.executable).parent / "gyrinx-tracker"
        result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.startswith("gyrinx-tracker ")

    def test_importing_the_package_does_not_import_the_command_line(self) -> None:
        """Applications pay nothing for the CLI: `import gyrinx_tracker` leaves gyrinx_tracker._cli unloaded."""
        code = "import sys, gyrinx_tracker; print(sorted(m for m in sys.modules if m.startswith('gyrinx_tracker._cli')))"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert result.returncode == 0 and result.stdout.strip() == "[]"
