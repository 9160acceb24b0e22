"""Command-line entry point: `gui` (default) and the headless subcommands.

Each subcommand lives in its own module under app/commands/ exposing `register(subparsers)`, which adds
its parser and sets `func(args) -> int` (the exit code). Heavy imports happen inside `func`, so
`--help` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from app.commands import COMMAND_MODULES

DESCRIPTION = (
    "AffectScope: continuous valence/arousal and the 8 AffectNet expressions with the 2Att-2Mt network, "
    "offline, from a webcam, video or image files."
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="affectscope", description=DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]) and run the chosen subcommand; `gui` when none is given."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
