"""The command line every user starts from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_subcommand() -> None:
    result = subprocess.run(
        [sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    commands = ("gui", "analyze", "report", "train", "evaluate", "export", "bench", "synth", "distill",
                "attention")
    for command in commands:
        assert any(line.split()[:1] == [command] for line in result.stdout.splitlines())


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "main.py", "frobnicate"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
