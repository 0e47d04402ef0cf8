"""``make bench`` (``python -m benchmarks``): the original tracker, a hand-written OpenTelemetry SDK
set-up and ``gyrinx_tracker`` in every mode, side by side; results in ``RESULTS.md``.

Data flows one way: ``workload`` (the calls) → ``impls`` (the table of implementations and where
their output lands; ``floors`` builds the floor rows of issue 27, the least each output needs) →
``rounds`` (interleaved timing) and ``load`` (threads and bursts in fresh processes, every child
process, callgrind) → ``targets`` (the table of what the issues ask) → ``report`` (all the text of
``RESULTS.md``, and the table of ``docs/performance.md``). ``receivers`` runs the counting Cloud
Logging and OTLP servers in their own process. Phases with a child of their own: ``cardinality`` (one million
unique ids), ``import_time``, ``previous`` (the previous release), ``bursts`` (cold starts per
policy, the API ceiling), ``catalogue_cost``. Outside ``python -m benchmarks``: ``request_latency``
(run by ``make bench`` after it) and ``cli_summary`` (``make bench-cli``).
Only ``gyrinx_tracker``'s public API is used, so the package's internals can move freely.
"""
