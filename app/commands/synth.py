"""`affectscope synth`: generate a synthetic expressive-face dataset."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "synth"
HELP = "generate a synthetic expressive-face dataset"


def register(subparsers) -> None:
    """Add the `synth` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
