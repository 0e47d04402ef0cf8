"""The Google Cloud destinations: Cloud Run stdout, the Cloud Logging API, Cloud Monitoring.

What belongs here: where on Google Cloud we run (``environment``), the structured stdout lines
(``cloud_run``), the ``WriteLogEntries`` output and its retries (``cloud_logging``,
``cloud_logging_send``) and metrics to the Telemetry API (``cloud_monitoring``). Google's
libraries are imported only in the modules that send, and only when ``choice`` picks them.

What must not: anything the local or OTLP destination needs, or any import of Google's libraries
at module level outside the modules that send.
"""
