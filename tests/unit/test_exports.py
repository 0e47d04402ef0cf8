"""The public surface is exactly what __all__ says (httpx's test_exported_members, adapted)."""

from __future__ import annotations

import importlib
import inspect

import pytest

import gyrinx_tracker
import gyrinx_tracker.testing


class TestPublicSurface:
    def test_all_lists_every_public_name_and_nothing_else(self) -> None:
        """Names without a leading underscore in the package are exactly __all__, sorted."""
        # pytest's assertion rewriting adds "@py_builtins" to modules of a distribution with a plugin
        public = {name for name in dir(gyrinx_tracker) if not name.startswith(("_", "@"))}
        submodules = {"asgi", "django", "handlers", "propagation", "pytest_plugin", "testing", "wsgi"}
        assert public - submodules == set(gyrinx_tracker.__all__) - {"__version__"}
        assert gyrinx_tracker.__all__ == sorted(gyrinx_tracker.__all__)

    def test_the_public_names_are_exactly_these(self) -> None:
        """The functions, the strict-mode error and the type stats() returns; no configuration class."""
        assert gyrinx_tracker.__all__ == ["Snapshot", "TrackerInputError", "__version__", "configure", "flush",
                                          "shutdown", "stats", "track"]

    def test_the_api_is_the_originals_plus_control(self) -> None:
        """track keeps the original tracker's signature; configure, flush, shutdown and stats are the controls."""
        assert {"track", "configure", "flush", "shutdown", "stats"} <= set(gyrinx_tracker.__all__)
        parameters = inspect.signature(gyrinx_tracker.track).parameters
        assert [(p.name, p.kind.name, p.default) for p in parameters.values()] == [
            ("event", "POSITIONAL_ONLY", inspect.Parameter.empty),  # so a label may be called event
            ("n", "POSITIONAL_OR_KEYWORD", 1),
            ("value", "POSITIONAL_OR_KEYWORD", None),
            ("labels", "VAR_KEYWORD", inspect.Parameter.empty),
        ]

    def test_testing_helpers_are_exported(self) -> None:
        """gyrinx_tracker.testing exports its capture helper and data types."""
        assert gyrinx_tracker.testing.__all__ == [
            "Capture", "CapturedEvent", "MetricLabelError", "MetricPoint", "Tracked", "capture_events"]


PUBLIC_MODULES = {"django": "_integrations.django", "wsgi": "_integrations.wsgi", "asgi": "_integrations.asgi",
                  "propagation": "_integrations.propagation", "testing": "_integrations.testing",
                  "pytest_plugin": "_integrations.pytest_plugin", "handlers": "_outputs.shared.handlers"}


class TestThinPublicModules:
    @pytest.mark.parametrize(("public", "private"), PUBLIC_MODULES.items())
    def test_a_public_module_is_its_implementations_public_names(self, public: str, private: str) -> None:
        """Each public module holds the implementation's own objects, every name of its __all__, and nothing else."""
        module = importlib.import_module(f"gyrinx_tracker.{public}")
        implementation = importlib.import_module(f"gyrinx_tracker.{private}")
        names = {name for name in vars(module) if not name.startswith(("__", "@"))}  # "@": pytest's rewriting
        assert names == set(module.__all__)
        if hasattr(implementation, "__all__"):
            assert module.__all__ == implementation.__all__
        assert all(getattr(module, name) is getattr(implementation, name) for name in module.__all__)
