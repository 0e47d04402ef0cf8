"""The event catalogue: the application's tracking plan, loaded once and checked per event.

What belongs here: reading and validating the catalogue file (``catalogue``), the JSON Schema
subset its label schemas use (``schema``), the generated per-event checks (``compiled``) and the
remembered verdicts that make a repeated label set one set look-up (``verdicts``).

What must not: anything about queues, outputs or signals. The pipeline asks it to review an
``Event``; the signals read its metric labels, units and sample rates; it imports only ``_core``
and the foundation modules.
"""
