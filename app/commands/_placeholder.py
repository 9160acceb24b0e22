"""Shared helper for subcommands whose issue has not landed yet."""

from __future__ import annotations

import argparse
import sys


def not_implemented(name: str):
    """Return a `func(args)` that says `name` is not implemented yet and exits with code 2."""

    def run(args: argparse.Namespace) -> int:
        print(f"affectscope {name}: not implemented yet in this version.", file=sys.stderr)
        return 2

    return run
