"""Monitoring as code: the event catalogue turned into a Cloud Monitoring dashboard, alert policies,
Prometheus rules and the README that applies them (``gyrinx-tracker events monitoring``).

What belongs here: the names the tracker writes on each route (``names``, derived from
``_signals``), and one module per artefact. What must not: anything the running tracker needs;
only ``_cli`` imports this package.
"""
