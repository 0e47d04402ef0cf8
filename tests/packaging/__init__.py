"""The package as users get it: the sdist and wheel built and installed, the snippets of README.md and docs/ run,
and what a fresh interpreter loads on import."""
