"""The pytest plugin: tests see tracked events synchronously, isolated, and never on the network.

The public path of ``gyrinx_tracker._integrations.pytest_plugin``, where the implementation and its reasons live.
"""

from gyrinx_tracker._integrations.pytest_plugin import (
    _gyrinx_tracker_isolation,
    pytest_addoption,
    pytest_configure,
    pytest_unconfigure,
    tracked,
)

# What pytest registers from this module: the hooks and the fixtures, the private autouse one included.
__all__ = ["_gyrinx_tracker_isolation", "pytest_addoption", "pytest_configure", "pytest_unconfigure", "tracked"]
