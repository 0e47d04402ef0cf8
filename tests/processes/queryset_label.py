"""A real Django QuerySet (sqlite in memory) passed as a label: prints how many queries the calls ran.

Run in its own process because Django's settings are configured once per process and the Django
tests in the main process use a project without a database.
"""

from __future__ import annotations

import json

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=["django.contrib.contenttypes"],
    USE_TZ=True,
)
django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402 - needs django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from gyrinx_tracker import track  # noqa: E402
from gyrinx_tracker.testing import capture_events  # noqa: E402

call_command("migrate", verbosity=0)
with capture_events(strict=False) as captured, CaptureQueriesContext(connection) as queries:
    for _ in range(3):
        track("listing", types=ContentType.objects.all(), one=ContentType.objects.first())
    labels = [event.labels for event in captured.events]
print(json.dumps({"queries": len(queries.captured_queries), "labels": labels}))
