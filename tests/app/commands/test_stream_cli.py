"""`affectscope stream` as a lab PC runs it: a looping video, the LSL outlet on (loopback only, see
tests/conftest.py), markers from another program, a recording, and Ctrl-C. The inlet gets labelled
samples with increasing capture timestamps; the marker lands in the CSV; SIGINT leaves a complete CSV
and its summary."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import cv2
import pylsl

from app.core.lsl import SLOT_CHANNELS
from app.core.recorder import SESSION_COLUMNS
from app.core.sources import DemoSource

REPO = Path(__file__).resolve().parents[3]


def _demo_video(path: Path, seconds: float = 3.0, fps: float = 10.0) -> Path:
    """A short MJPG video of the demo source's two drifting faces."""
    demo = DemoSource(width=320, height=240, fps=fps, faces=2)
    demo.open()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    assert writer.isOpened()
    for i in range(int(seconds * fps)):
        writer.write(cv2.cvtColor(demo.render(i / fps), cv2.COLOR_RGB2BGR))
    writer.release()
    demo.close()
    return path


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _wait(condition, timeout_s: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"stream exited early ({process.returncode}) waiting for {what}: "
                                 f"{process.stderr.read()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_stream_publishes_records_markers_and_stops_cleanly_on_ctrl_c(tmp_path):
    video = _demo_video(tmp_path / "clip.avi")
    name = f"AffectScope-cli-{uuid.uuid4().hex[:6]}"
    marker_name = f"PsychoPy-cli-{uuid.uuid4().hex[:6]}"
    sender = pylsl.StreamOutlet(pylsl.StreamInfo(marker_name, "Markers", 1, 0, pylsl.cf_string,
                                                 f"src-{marker_name}"))
    out = tmp_path / "session.csv"
    env = {**os.environ, "AFFECTSCOPE_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "stream", "--source", str(video), "--loop", "--lsl",
         "--lsl-name", name, "--lsl-slots", "2", "--markers-from", marker_name, "--record", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = pylsl.resolve_byprop("name", name, timeout=120.0)
        assert found, "the stream's outlet never appeared on loopback"
        inlet = pylsl.StreamInlet(found[0], max_buflen=60)
        inlet.open_stream(timeout=10.0)
        assert inlet.info().channel_count() == 1 + 2 * len(SLOT_CHANNELS)
        assert inlet.info().type() == "FacialAffect"
        _wait(lambda: len(_rows(out)) >= 5, 120.0, "the first recorded rows", process)
        samples, stamps = inlet.pull_chunk(timeout=5.0, max_samples=50)
        assert len(samples) >= 2
        assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))  # capture times increase
        assert all(abs(stamp - pylsl.local_clock()) < 30.0 for stamp in stamps)  # on this LSL clock
        frames = [int(s[0]) for s in samples]
        assert frames == sorted(frames)
        time.sleep(2.0)  # the inlet of --markers-from is connected once the recording runs
        sender.push_sample(["stimulus A"])
        _wait(lambda: any("stimulus A" in r["marker"] for r in _rows(out)), 30.0, "the marker", process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60.0)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "stopping (Ctrl-C)" in stderr and "recording closed" in stderr
    text = out.read_text()
    assert text.endswith("\n")
    with out.open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == list(SESSION_COLUMNS)
    assert all(len(line) == len(SESSION_COLUMNS) for line in lines[1:])  # no cut row
    summary = json.loads(out.with_name("session.summary.json").read_text())
    frames_recorded = {row[SESSION_COLUMNS.index("frame")] for row in lines[1:]}
    assert summary["n_frames"] == len(frames_recorded)
