"""A Django QuerySet as a label, in a child with Django settings of its own and sqlite in memory
(``tests/processes/queryset_label.py``); the other hostile input is tests/unit/test_hostile_input.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


class TestDjangoQuerySet:
    @pytest.mark.slow
    def test_a_queryset_label_runs_no_query(self) -> None:
        """A real QuerySet as a label runs no database query (its ``__str__`` ran one per track());
        a model instance is still recorded by its id. Only ``.first()`` itself queries, once a call."""
        done = subprocess.run([sys.executable, "-m", "tests.processes.queryset_label"], capture_output=True,
                              text=True, timeout=120, cwd=Path(__file__).parents[2])
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["labels"] == [{"types": "<unsupported QuerySet>", "one": "1"}] * 3
        assert result["queries"] == 3
