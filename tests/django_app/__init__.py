"""A small real Django project for the middleware tests: settings, URLs and views."""
