"""`affectscope evaluate`: evaluate a model and write the metrics report."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "evaluate"
HELP = "evaluate a model and write the metrics report"


def register(subparsers) -> None:
    """Add the `evaluate` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
