"""`affectscope distill`: rebuild the starter model by distillation."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "distill"
HELP = "rebuild the starter model by distillation"


def register(subparsers) -> None:
    """Add the `distill` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
