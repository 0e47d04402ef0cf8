"""The first stage: one ``track()`` call becomes a clean ``Event``.

What belongs here: the event type (``event``), the rules that repair and bound a call's arguments
(``sanitize``), the conversion of any label value into JSON data (``encode``), redaction of what
looks secret (``redact``) and the policy for the problems found (``problems``: warn, or raise in
strict mode). Pure functions of their input and the configuration.

What must not: threads, locks, queues, clocks, I/O, OpenTelemetry's SDK. This package imports only
the foundation modules (``_config``, ``_diagnostics``); every later stage imports it, never the
other way round.
"""
