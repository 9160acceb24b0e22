"""Subcommand modules, in the order `--help` lists them."""

from app.commands import analyze, attention, bench, distill, evaluate, export, gui, synth, train

COMMAND_MODULES = (gui, analyze, train, evaluate, export, bench, synth, distill, attention)
