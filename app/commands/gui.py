"""`affectscope gui`: launch the desktop application (default)."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "gui"
HELP = "launch the desktop application (default)"


def register(subparsers) -> None:
    """Add the `gui` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
