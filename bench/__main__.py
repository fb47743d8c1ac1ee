"""`python -m bench [--quick] [--incidents N] [--seed S] ...`: see `bench.cli` for the flags."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # Imported here, not at the top: load-generator processes (spawn) re-import this module as
    # `__mp_main__` and must not pull Django in.
    from bench.cli import main

    sys.exit(main())
