#!/usr/bin/env bash
# Install everything AffectScope needs on a fresh Debian/Ubuntu machine, idempotently:
#   1. system libraries through apt (when run as root or with sudo available),
#   2. a Python 3.11 virtual environment in .venv with the pinned packages of pyproject.toml.
# Usage: scripts/setup.sh [--dev] [--gui]
#   --dev  also install the test/lint tools (the `dev` extra)
#   --gui  also install the X11 libraries a real window needs
set -euo pipefail
cd "$(dirname "$0")/.."

want_dev=0
want_gui=0
for arg in "$@"; do
    case "$arg" in
        --dev) want_dev=1 ;;
        --gui) want_gui=1 ;;
        *) echo "setup.sh: unknown option $arg (use --dev and/or --gui)" >&2; exit 2 ;;
    esac
done

# Libraries OpenCV, MediaPipe and Qt load at run time (offscreen rendering included).
apt_packages=(libgl1 libglib2.0-0 libegl1 libgles2 libfontconfig1 libxkbcommon0 libdbus-1-3)
if [ "$want_gui" = 1 ]; then
    apt_packages+=(libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
        libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1 xvfb xauth)
fi

missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then sudo_cmd=(); elif command -v sudo >/dev/null; then sudo_cmd=(sudo); else sudo_cmd=(none); fi
    if [ "${sudo_cmd[0]:-}" = none ]; then
        echo "setup.sh: please install these system packages as root: ${missing[*]}" >&2
    else
        echo "setup.sh: installing system packages: ${missing[*]}"
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

python_bin=""
for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        python_bin="$candidate"
        break
    fi
done
if [ -z "$python_bin" ]; then
    echo "setup.sh: AffectScope's pinned packages are tested on Python 3.11; install python3.11 (with venv) first." >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup.sh: creating .venv with $python_bin"
    "$python_bin" -m venv .venv
fi

extras=""
[ "$want_dev" = 1 ] && extras="[dev]"
stamp=".venv/.affectscope-installed"
want_stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)$extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want_stamp" ]; then
    echo "setup.sh: installing pinned Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".$extras"
    echo "$want_stamp" > "$stamp"
fi
