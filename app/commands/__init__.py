"""Subcommand modules, in the order `--help` lists them."""

from app.commands import (
    analyze,
    attention,
    bench,
    distill,
    evaluate,
    export,
    gui,
    report,
    stream,
    synth,
    train,
)

COMMAND_MODULES = (gui, analyze, report, stream, train, evaluate, export, bench, synth, distill, attention)
