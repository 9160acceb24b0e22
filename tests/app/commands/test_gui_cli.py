"""`python main.py gui`: the options automation relies on, and the no-display message."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from app.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]


def test_without_a_display_it_says_what_to_do_and_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "main.py", "gui"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "no display found" in result.stderr and "xvfb-run" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv, message", [
    (["gui", "--record", "out.csv"], "--record needs --source"),
    (["gui", "--source", "demo", "--exit-after", "0"], "--exit-after must be > 0"),
    (["gui", "--model", "missing.pt"], "model file missing.pt does not exist"),
    (["gui", "--open", "missing.csv"], "missing.csv does not exist"),
])
def test_bad_options_are_refused_before_any_window(argv, message, capsys) -> None:
    args = build_parser().parse_args(argv)
    assert args.func(args) == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def small_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny untrained checkpoint and a 30 s, 10 fps, 320x240 two-face video."""
    import torch

    from app.core.sources import DemoSource
    from model.checkpoint import save_checkpoint
    from model.config import ModelConfig
    from model.network import build_model

    torch.manual_seed(0)
    network = build_model(ModelConfig(backbone="resnet18", input_size=64))
    model = save_checkpoint(tmp_path / "tiny.pt", network, {"name": "tiny", "untrained": True})
    video = tmp_path / "faces.avi"
    demo = DemoSource(width=320, height=240, fps=10.0, faces=2)
    demo.open()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(300):
        writer.write(cv2.cvtColor(demo.render(i / 10.0), cv2.COLOR_RGB2BGR))
    writer.release()
    return model, video


@pytest.fixture
def torch_threads_restored():
    """The GUI sets torch's thread count for its process; give the rest of the suite its own back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_source_record_and_exit_after_run_a_session_unattended(qapp, small_inputs, tmp_path: Path,
                                                               torch_threads_restored) -> None:
    model, video = small_inputs
    out = tmp_path / "sessions" / "auto.csv"
    args = build_parser().parse_args(["gui", "--source", str(video), "--record", str(out),
                                      "--exit-after", "10", "--model", str(model),
                                      "--settings", str(tmp_path / "s.ini")])
    assert args.func(args) == 0
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["status"] for r in rows} <= {"ok", "no_face"}
    summary = json.loads(out.with_name("auto.summary.json").read_text(encoding="utf-8"))
    assert summary["n_frames"] == len({r["frame"] for r in rows})
    assert summary["model"]["name"] == "tiny"
