"""`python -m ivy_setup_tui`: the same entry point as the `ivy-setup` console script."""

from __future__ import annotations

import sys

from ivy_setup_tui.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
