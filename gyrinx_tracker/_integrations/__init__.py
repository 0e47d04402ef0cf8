"""Where the tracker meets an application's frameworks: Django, WSGI, ASGI, tests.

What belongs here: the request scope every web integration shares (``request``), trace context
from request headers (``propagation``), the middlewares (``django``, ``wsgi``, ``asgi``), the
capture helper for tests (``testing``) and the pytest plugin (``pytest_plugin``). The public paths
(``gyrinx_tracker.django`` and the rest) are thin modules re-exporting these.

What must not: anything the pipeline needs to run. These modules sit on top: they call the public
functions in ``_api``, and nothing below imports them.
"""
