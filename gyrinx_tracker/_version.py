"""The package version, in one place (pyproject.toml reads the same number at release time)."""

VERSION = "0.1.0"
