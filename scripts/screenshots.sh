#!/usr/bin/env bash
# Screenshots of every tab and the GUI responsiveness numbers, from the real window on a virtual X
# display: plays a generated two-face video with recording on, measures for SECONDS (default 60) with
# scripts/gui_probe.py, saves docs/screenshots/*.png and updates the "GUI responsiveness" section of
# docs/BENCHMARKS.md. Needs xvfb-run (Debian/Ubuntu: apt-get install xvfb xauth); extra arguments go to
# gui_probe.py (e.g. --seconds 20, --model path/to/model.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v xvfb-run >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq xvfb xauth
    else
        echo "screenshots.sh: xvfb-run is missing; install it (e.g. sudo apt-get install xvfb xauth)" >&2
        exit 2
    fi
fi
PYTHON=${PYTHON:-.venv/bin/python}
unset QT_QPA_PLATFORM WAYLAND_DISPLAY
mkdir -p docs/screenshots
exec xvfb-run -a -s "-screen 0 1600x1000x24" "$PYTHON" scripts/gui_probe.py \
    --screenshots docs/screenshots --benchmarks docs/BENCHMARKS.md --json docs/screenshots/gui_probe.json "$@"
