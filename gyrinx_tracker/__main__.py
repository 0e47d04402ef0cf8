"""``python -m gyrinx_tracker``: the same command line as ``gyrinx-tracker``.

Guarded, so that importing the module (as tools that import every module of a package do) runs
nothing.
"""

import sys

from gyrinx_tracker._cli import main

if __name__ == "__main__":
    sys.exit(main())
