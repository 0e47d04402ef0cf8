"""The second stage: the queue between the caller and the one worker thread, and its life.

What belongs here: ``pipeline`` (what ``track()`` does on the caller's thread, and the worker that
drains the queue), ``lifecycle`` (the states, the shutdown deadline, exit, SIGTERM and fork),
``backpressure`` and ``budget`` (what a full queue does, memory bounded in bytes), ``wakeup`` and
``forksafe`` (signal-safe wake-ups, no fork mid-import), ``process`` (the process hooks),
``disabled`` (the ``none`` exporter) and ``port``: the ``Output`` the worker calls and the
``Delivery`` it books.

What must not: any destination, record format or metric. The pipeline is handed an ``Output``
(``_outputs.choice`` builds one) and knows it only through ``port``; it imports ``_core``,
``_catalogue`` and the foundation modules, never ``_signals`` or ``_outputs``.
"""
