"""Helpers shared by the halves of a test module split by kind (tests/unit and tests/integration,
say), kept once here. tests/conftest.py registers this package for pytest's assert rewriting, as
the asserts in it were in the test modules before."""
