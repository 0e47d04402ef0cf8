"""The test suite, grouped by kind: unit/, integration/, process/ and packaging/ (docs/maintainers.md: Tests).

A package, so test modules are imported by their full name (``tests.unit.test_local``) and two
folders may hold files of the same name (the halves of a module split by kind).
"""
