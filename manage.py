#!/usr/bin/env python
"""Same as the `duban` console script, for those who expect a manage.py."""

import sys
from pathlib import Path

# Running from a checkout without an install: platform/ is the source root of `duban`.
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))

from duban.cli import main

if __name__ == "__main__":
    main()
