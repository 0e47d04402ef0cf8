"""The package version, in one place: pyproject.toml reads it (``[tool.setuptools.dynamic]``)."""

VERSION = "0.1.0"
