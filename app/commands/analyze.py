"""`affectscope analyze`: analyse image, folder and video files into a CSV."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "analyze"
HELP = "analyse image, folder and video files into a CSV"


def register(subparsers) -> None:
    """Add the `analyze` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
