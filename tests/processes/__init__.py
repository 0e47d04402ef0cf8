"""Scripts the tests run as real child processes (writers sharing one stream, web apps, workers)."""
