"""`affectscope train`: train or fine-tune a model (two-stage recipe)."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "train"
HELP = "train or fine-tune a model (two-stage recipe)"


def register(subparsers) -> None:
    """Add the `train` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
