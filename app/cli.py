"""Command-line entry point: `gui` (default) and the headless subcommands.

Each subcommand lives in its own module under app/commands/ exposing `register(subparsers)`, which adds
its parser and sets `func(args) -> int` (the exit code). Heavy imports happen inside `func`, so
`--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys

from app.commands import COMMAND_MODULES
from app.core.logs import configure_logging, log_dir, native_output_to_log

DESCRIPTION = (
    "AffectScope: continuous valence/arousal and the 8 AffectNet expressions with the 2Att-2Mt network, "
    "offline, from a webcam, video or image files."
)


VERBOSE_HELP = (
    "also show the log and what the native libraries (MediaPipe, OpenCV, torch) print; by default they "
    "go to the log folder, " + str(log_dir())
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered (each takes --verbose too)."""
    parser = argparse.ArgumentParser(prog="affectscope", description=DESCRIPTION)
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    for sub in subparsers.choices.values():  # SUPPRESS: without it, the top-level flag stays in force
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]) and run the chosen subcommand; `gui` when none is given."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    logging.getLogger(__name__).info("affectscope %s", " ".join(argv))
    with native_output_to_log(args.verbose):
        return int(args.func(args) or 0)
