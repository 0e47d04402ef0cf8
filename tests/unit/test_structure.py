"""The seams issue 7 put in place stay in place: each destination is one kind of writer, and the version is
written once (what a fresh interpreter loads is tests/packaging/test_structure.py)."""

from __future__ import annotations

from pathlib import Path

from gyrinx_tracker._outputs.gcp.cloud_run import CloudRunStdoutWriter
from gyrinx_tracker._outputs.local.writer import LocalJsonWriter
from gyrinx_tracker._outputs.shared.sdk import SdkExporterWriter
from gyrinx_tracker._signals.writers import EventLogWriter, LogWriter
from gyrinx_tracker._version import VERSION

ROOT = Path(__file__).parents[2]


class TestInterfaces:
    def test_each_destination_is_one_kind_of_writer(self) -> None:
        """Record writers say what they read; the local, Cloud Run stdout and OTLP writers write from
        events and take no records."""
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

        from gyrinx_tracker._outputs.gcp.cloud_logging import CloudLoggingWriter
        from gyrinx_tracker._outputs.otlp.logs import BatchEncodingLogExporter, WireLogWriter

        record_writers: list[LogWriter] = [SdkExporterWriter(InMemoryLogRecordExporter())]
        assert [w.reads_attributes for w in record_writers] == [True]
        assert CloudLoggingWriter.reads_attributes is False and not hasattr(CloudLoggingWriter, "write_events")
        event_writers = [LocalJsonWriter(), CloudRunStdoutWriter("p"),
                         WireLogWriter(BatchEncodingLogExporter(endpoint="localhost:1", insecure=True))]
        assert all(isinstance(w, EventLogWriter) and not hasattr(w, "write") for w in event_writers)
        assert not any(isinstance(w, EventLogWriter) for w in record_writers)

    def test_the_version_is_written_once(self) -> None:
        """pyproject.toml reads the version from the package; the installed metadata agrees."""
        from importlib.metadata import version

        assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
        assert version("gyrinx-tracker") == VERSION
