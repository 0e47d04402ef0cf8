"""``make bench`` (``python -m benchmarks``): the original tracker, a hand-written OpenTelemetry SDK
set-up and ``gyrinx_tracker`` in every mode, side by side; results in ``RESULTS.md``.

Data flows: ``workload`` (the calls) → ``impls`` (the table of implementations and where their
output lands) → ``rounds`` (interleaved timing) and ``load`` (threads and bursts in fresh
processes) → ``targets`` (the table of what the issues ask) → ``report`` (``RESULTS.md``).
``receivers`` runs the counting Cloud Logging and OTLP servers in their own process;
``cardinality`` and ``instructions`` are the one-million-id run and the callgrind cross-check.
Only ``gyrinx_tracker``'s public API is used, so the package's internals can move freely.
"""
