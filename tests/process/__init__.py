"""Real subprocesses: exit, SIGTERM, fork, gunicorn and uvicorn servers, child interpreters, and the
pytest plugin's projects run by a pytest of their own."""
