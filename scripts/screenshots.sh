#!/usr/bin/env bash
# Screenshots of every tab and the GUI responsiveness numbers, from the real window on a virtual X
# display: plays a generated two-face video with recording on, measures for SECONDS (default 60) with
# scripts/gui_probe.py, saves docs/screenshots/*.png and updates the "GUI responsiveness" section of
# docs/BENCHMARKS.md. Needs xvfb-run and the X libraries of Qt's xcb plugin (installed with apt-get when
# run as root); extra arguments go to gui_probe.py (e.g. --seconds 20, --model path/to/model.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
# The virtual display, and the X libraries Qt's xcb platform plugin needs (DESIGN.md "Platform facts").
PACKAGES="xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
          libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1"
MISSING=""
for package in $PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || MISSING="$MISSING $package"
done
if [ -n "$MISSING" ] || ! command -v xvfb-run >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq $PACKAGES
    else
        echo "screenshots.sh: missing system packages:$MISSING; install them, e.g." >&2
        echo "  sudo apt-get install $(echo $PACKAGES)" >&2
        exit 2
    fi
fi
PYTHON=${PYTHON:-.venv/bin/python}
unset QT_QPA_PLATFORM WAYLAND_DISPLAY
mkdir -p docs/screenshots
exec xvfb-run -a -s "-screen 0 1600x1000x24" "$PYTHON" scripts/gui_probe.py \
    --screenshots docs/screenshots --benchmarks docs/BENCHMARKS.md --json docs/screenshots/gui_probe.json "$@"
