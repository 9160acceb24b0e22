"""Subcommand modules, in the order `--help` lists them."""

from app.commands import analyze, attention, bench, distill, evaluate, export, gui, stream, synth, train

COMMAND_MODULES = (gui, analyze, stream, train, evaluate, export, bench, synth, distill, attention)
