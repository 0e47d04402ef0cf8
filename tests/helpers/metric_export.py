"""The overflow series' attributes, read by the metric export tests in tests/integration and tests/unit."""

OVERFLOW = {"otel.metric.overflow": True}
