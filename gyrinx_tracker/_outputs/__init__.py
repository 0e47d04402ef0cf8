"""The outputs: where validated events go. Nothing is imported here, so that importing one output
(or the interfaces in ``base``) never loads the others and their dependencies.

``choice.open_output`` runs on the pipeline's worker thread, never at import or at the call site,
so neither ``import gyrinx_tracker`` nor the first ``track()`` waits for Google's libraries or the
metadata server. One module per destination: ``local`` (JSON through the ``gyrinx.tracker``
logger), ``cloud_run`` (structured stdout lines), ``cloud_logging`` (the API), ``otlp``; ``sdk``
adapts any SDK exporter; ``base`` holds the interfaces, ``limits`` the entry size limits,
``signals`` the record and metric building the outputs share, ``fast_json``, ``stdlib_records``
and ``text`` the fenced speed-ups and formatting helpers.
"""
