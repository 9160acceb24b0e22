"""`affectscope bench`: measure model and pipeline speed."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "bench"
HELP = "measure model and pipeline speed"


def register(subparsers) -> None:
    """Add the `bench` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
