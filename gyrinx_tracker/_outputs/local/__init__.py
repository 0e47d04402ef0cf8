"""The local destination: the original tracker's payload through the ``gyrinx.tracker`` logger.

What belongs here: the writer (``writer``), the stdlib records it makes (``records``), how a batch
of them reaches the logger's handlers (``dispatch``) and the local metric lines
(``metric_lines``). What must not: anything that only Google Cloud or OTLP needs.
"""
