"""The last stage: the destinations, one sub-package each, and the I/O pieces they share.

What belongs here: ``local`` (JSON through the ``gyrinx.tracker`` logger, the local metric lines),
``gcp`` (Cloud Run stdout, the Cloud Logging API, Cloud Monitoring, where on Google Cloud we run),
``otlp`` (the official OTLP exporters, requests written from events), ``shared`` (whole lines on
shared streams, JSON, size limits, senders, the SDK exporter adapter), and ``choice``, which picks
and builds one output for a configuration on the worker thread.

What must not: queueing, cleaning or metric aggregation. A destination implements
``_signals.writers``; the destinations do not import one another (only ``choice`` knows them all),
and nothing is imported in this ``__init__``, so loading one destination never loads another's
dependencies.
"""
