"""Why the gcp output is unavailable, in the words of each failure (the output itself is
tests/integration/test_gcp_api.py)."""

from __future__ import annotations

import pytest
from google.auth.exceptions import DefaultCredentialsError

from gyrinx_tracker._outputs.choice import NoProject, why_unavailable


class TestWhyUnavailable:
    @pytest.mark.parametrize(("error", "expected"), [
        (ImportError("No module named 'google.cloud.logging_v2'"), "a package is missing"),
        (DefaultCredentialsError("Your default credentials were not found."), "no Google credentials were found"),
        (NoProject("no Google Cloud project was found (set GOOGLE_CLOUD_PROJECT)"), "no Google Cloud project was found"),
        (ValueError("bad endpoint"), "ValueError: bad endpoint"),
    ])
    def test_each_failure_gets_its_own_words(self, error: Exception, expected: str) -> None:
        """Only a missing package points at the extra; credentials and the project are named for what they are."""
        reason = why_unavailable("gcp", error)
        assert reason.startswith(expected)
        assert ("gyrinx-tracker[gcp] extra" in reason) == isinstance(error, ImportError)
