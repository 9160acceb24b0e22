"""Launch AffectScope (the GUI by default); the same entry point as the `affectscope` console script."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
