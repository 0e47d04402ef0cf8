"""The one rate limiter (``_diagnostics.RateLimit``) behind the tracker's warnings and the exporters' log lines."""

from __future__ import annotations

import time

from gyrinx_tracker._diagnostics import RateLimit


class TestRateLimit:
    def test_the_first_message_of_a_key_passes_and_its_repeats_are_held_back(self) -> None:
        """Within the window a key passes once; other keys are not held back by it."""
        limit = RateLimit(window=60)
        assert limit.admit("a") == 0
        assert limit.admit("a") is None
        assert limit.admit("b") == 0

    def test_after_the_window_the_next_message_carries_the_count_held_back(self) -> None:
        """The message let through after the window says how many were held back, then the count starts afresh."""
        limit = RateLimit(window=0.05)
        assert limit.admit("a") == 0
        for _ in range(3):
            assert limit.admit("a") is None
        time.sleep(0.1)
        assert limit.admit("a") == 3
        time.sleep(0.1)
        assert limit.admit("a") == 0

    def test_past_the_key_limit_new_keys_pass_uncounted(self) -> None:
        """Memory is bounded by the number of keys: a key beyond it is let through every time, keys known before stay limited."""
        limit = RateLimit(window=60, max_keys=2)
        assert limit.admit("a") == 0
        assert limit.admit("b") == 0
        assert [limit.admit("c") for _ in range(3)] == [0, 0, 0]
        assert limit.admit("a") is None

    def test_reset_forgets_the_history(self) -> None:
        """After reset a key's next message passes at once, with nothing held back."""
        limit = RateLimit(window=60)
        limit.admit("a")
        limit.admit("a")
        limit.reset()
        assert limit.admit("a") == 0
