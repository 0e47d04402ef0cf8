"""The burst of the backpressure tests (tests/unit/test_backpressure.py in process, and the cold
start in a child in tests/process/test_backpressure.py)."""

BURST = 50_000
