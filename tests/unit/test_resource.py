"""Our providers' resource: what Resource.create() gives, an instance id per process, the app's merged."""

from __future__ import annotations

import os
import uuid

import pytest
from opentelemetry.sdk.resources import Resource

from gyrinx_tracker._signals import resource as resources


class TestResource:
    def test_it_carries_what_the_sdk_create_gives_and_an_instance_id(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """service.name, telemetry.sdk.*, the variables, service.instance.id (a UUID) and process.pid."""
        monkeypatch.setenv("OTEL_SERVICE_NAME", "web")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
        attributes = resources.resource_from_env().attributes
        created = Resource.create().attributes
        for key in ("service.name", "telemetry.sdk.language", "telemetry.sdk.name", "telemetry.sdk.version",
                    "deployment.environment"):
            assert attributes[key] == created[key]
        assert uuid.UUID(str(attributes["service.instance.id"])).version == 4
        assert attributes["process.pid"] == os.getpid()

    def test_the_instance_id_is_the_same_within_a_process(self) -> None:
        """Every output built in one process names the same instance (a fork gets its own: tests/process)."""
        first = resources.resource_from_env({}).attributes["service.instance.id"]
        assert resources.resource_from_env({}).attributes["service.instance.id"] == first == resources.instance_id()

    def test_the_variables_may_set_the_instance_id(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """OTEL_RESOURCE_ATTRIBUTES wins, as with Resource.create()."""
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-7")
        assert resources.resource_from_env().attributes["service.instance.id"] == "pod-7"

    def test_the_apps_resource_is_merged_but_the_instance_stays_this_processs(self) -> None:
        """The app's service name and attributes win; its instance id may come from a pre-fork master."""
        app = Resource({"service.name": "shop", "k8s.pod.name": "p1", "service.instance.id": "master"})
        attributes = resources.resource_from_env({}, app).attributes
        assert (attributes["service.name"], attributes["k8s.pod.name"]) == ("shop", "p1")
        assert attributes["service.instance.id"] == resources.instance_id() != "master"

    def test_a_failing_detector_is_named_and_skipped(self, caplog: pytest.LogCaptureFixture) -> None:
        """OTEL_EXPERIMENTAL_RESOURCE_DETECTORS naming an unknown detector warns and builds the rest."""
        resource = resources.resource_from_env({"OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel,no_such_detector"})
        assert "service.instance.id" in resource.attributes
        assert any("no_such_detector" in r.getMessage() for r in caplog.records)
