"""`bench --startup`: the real GUI launched offscreen reports when its window and its model were ready."""

from __future__ import annotations

import json

from app.cli import main


def test_startup_benchmark_times_a_real_launch(tmp_path, capsys):
    out = tmp_path / "startup.json"
    assert main(["bench", "--startup", "--launches", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    shown, named = report["window_shown_s"]["median"], report["model_named_s"]["median"]
    assert 0 < shown <= named < 300  # the model is named after the window is up, in the background
    assert "window shown: median" in capsys.readouterr().out
