"""``python -m gyrinx_tracker``: the same command line as ``gyrinx-tracker``."""

import sys

from gyrinx_tracker._cli import main

sys.exit(main())
