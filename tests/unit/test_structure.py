"""The seams issue 7 put in place stay in place: every writer is a log writer, and the version is
written once (what a fresh interpreter loads is tests/packaging/test_structure.py)."""

from __future__ import annotations

from pathlib import Path

from gyrinx_tracker._outputs.gcp.cloud_run import CloudRunStdoutWriter
from gyrinx_tracker._outputs.local.writer import LocalJsonWriter
from gyrinx_tracker._outputs.shared.sdk import SdkExporterWriter
from gyrinx_tracker._signals.writers import LogWriter
from gyrinx_tracker._version import VERSION

ROOT = Path(__file__).parents[2]


class TestInterfaces:
    def test_every_writer_is_a_log_writer(self) -> None:
        """The writers satisfy the LogWriter protocol (checked by mypy here) and say what they read."""
        from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

        writers: list[LogWriter] = [LocalJsonWriter(), CloudRunStdoutWriter("p"),
                                    SdkExporterWriter(InMemoryLogRecordExporter())]
        assert [w.reads_attributes for w in writers] == [False, False, True]

    def test_the_version_is_written_once(self) -> None:
        """pyproject.toml reads the version from the package; the installed metadata agrees."""
        from importlib.metadata import version

        assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
        assert version("gyrinx-tracker") == VERSION
