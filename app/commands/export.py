"""`affectscope export`: export a model to one self-contained ONNX file."""

from __future__ import annotations

from app.commands._placeholder import not_implemented

NAME = "export"
HELP = "export a model to one self-contained ONNX file"


def register(subparsers) -> None:
    """Add the `export` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    parser.set_defaults(func=not_implemented(NAME))
