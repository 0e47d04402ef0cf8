"""The third stage: what an event becomes, an OpenTelemetry log record and its metrics.

What belongs here: the record's body and attributes (``records``), which records are written
(``sampling``), the per-event counters and histograms and their bounded cardinality (``metrics``,
``metric_data``, ``self_metrics``, ``meters``), every use of the logs SDK (``otel_logs``), the
resource of our providers (``resource``), the ``Output`` that puts these together for a batch
(``output``) and ``writers``, the port a destination implements.

What must not: any one destination's format or transport (those are ``_outputs``). Signals
implement the pipeline's ``port`` and import ``_pipeline.port``, ``_catalogue``, ``_core`` and the
foundation modules; nothing here imports ``_outputs``.
"""
