"""Settings of the test project: no database, the tracker middleware first."""

SECRET_KEY = "tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
ROOT_URLCONF = "tests.django_app.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["gyrinx_tracker.django.TrackerMiddleware"]
DATABASES: dict[str, object] = {}
USE_TZ = True
GYRINX_TRACKER_REQUEST_EVENT = "http_request"
