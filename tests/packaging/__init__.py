"""The package as users get it: the sdist and wheel built and installed, the README's snippets run,
and what a fresh interpreter loads on import."""
