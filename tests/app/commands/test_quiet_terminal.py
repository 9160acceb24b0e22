"""A normal command-line run prints only our progress and results; the native libraries' chatter
(LiteRT/XNNPACK INFO lines, absl's "Logging before InitGoogle()", the full-range model's sparsity
notice, torch's pickle warning) goes to the log folder, and `--verbose` shows it."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FACE = REPO / "assets" / "demo" / "astronaut_head.jpg"
# tqdm's bar ("analyze: 100%|...") and our own lines ("affectscope analyze: ..." and its "  - " list)
OURS = re.compile(r"^(analyze: |affectscope analyze: |  - )")


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AFFECTSCOPE_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def _lines(stream: str) -> list[str]:
    return [line for line in re.split(r"[\r\n]+", stream) if line.strip()]


def test_analyze_prints_only_our_lines_and_logs_the_rest(tmp_path):
    run = _run(tmp_path, "analyze", str(FACE), "--out", str(tmp_path / "out.csv"), "--detector", "full")
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    foreign = [line for line in _lines(run.stderr) if not OURS.match(line)]
    assert foreign == [], foreign
    assert "1 files, 0 could not be read, 1 rows" in run.stderr
    logs = tmp_path / "data" / "logs"
    assert "affectscope analyze" in (logs / "affectscope.log").read_text()
    assert (logs / "native.log").is_file()


def test_a_refused_pickle_is_one_line_and_verbose_shows_the_log(tmp_path):
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))  # torch warns about protocol 4
    run = _run(tmp_path, "analyze", str(FACE), "--out", str(tmp_path / "out.csv"), "--model", str(raw))
    assert run.returncode == 1
    assert _lines(run.stderr) == [_lines(run.stderr)[0]] and "cannot open the model" in run.stderr
    assert "UserWarning" not in run.stderr
    verbose = _run(tmp_path, "analyze", str(FACE), "--out", str(tmp_path / "out.csv"), "--model", str(raw),
                   "--verbose")
    assert verbose.returncode == 1
    assert "INFO app.cli" in verbose.stderr and "Detected pickle protocol 4" in verbose.stderr


def test_a_gui_session_prints_nothing(tmp_path):
    env_settings = tmp_path / "settings.ini"
    run = _run(tmp_path, "gui", "--source", str(FACE), "--exit-after", "4", "--settings", str(env_settings))
    assert run.returncode == 0, run.stderr
    assert (run.stdout, run.stderr) == ("", "")
