"""The project's OpenTelemetry Collector distribution and configs, run as the real binary."""
