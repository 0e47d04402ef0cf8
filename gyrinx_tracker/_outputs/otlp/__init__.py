"""The OTLP destination: the official OpenTelemetry exporters for logs and metrics.

What belongs here: building the exporters (``exporters``), the log exporter that sends requests
written from events (``logs``) and that writing itself (``wire``). Every private piece of the
exporter packages it relies on is fenced in ``logs`` and ``wire``.

What must not: anything the local or Google Cloud destination needs.
"""
