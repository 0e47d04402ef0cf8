"""I/O pieces more than one destination uses.

What belongs here: whole lines on streams other processes share (``linewriter``, ``handlers``),
compact JSON (``fast_json``), timestamps and trace ids as text (``text``), entry size limits and
their salvage (``limits``), requests in flight on their own threads (``senders``), any SDK log
exporter as a writer (``sdk``), two writers for one batch (``tee``) and the rate limit on the
OpenTelemetry exporters' own log lines (``exporter_logs``). What must not: anything naming one
destination; nothing here imports ``local``, ``gcp`` or ``otlp``.
"""
