#!/usr/bin/env bash
# One command: install what is missing (dev tools included), then lint, check the import layering and
# run the whole test suite headless (no GPU, camera or display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check app model tests main.py
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -q "$@"
