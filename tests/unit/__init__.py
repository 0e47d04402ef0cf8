"""In-process and fast: no subprocesses, no network servers (not even loopback fakes), no builds."""
