#!/usr/bin/env bash
# One command: install what is missing, then launch the AffectScope desktop app (extra arguments are
# passed to `main.py`, e.g. `scripts/run.sh gui --source 0`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --gui
exec .venv/bin/python main.py "$@"
