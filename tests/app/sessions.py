"""A real recording for the Viewer and `report` tests: the live pipeline (real detector, fake model) plays
a generated video of two faces, records it with its raw video, and two markers are added on the way."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from app.core.sources import VideoFileSource
from tests.app.core.test_pipeline import Collector, make_pipeline, wait_for
from tests.app.core.videos import two_faces, write_video

MARKERS = ("stimulus A", "stimulus B")


def two_face_frames(astronaut: np.ndarray, n: int) -> list[np.ndarray]:
    """n frames (256, 560, 3): the two-face picture drifting right by 1 px per frame, brightening slowly
    (so the fake model's V/A change over time)."""
    picture = two_faces(astronaut)
    frames = []
    for i in range(n):
        frame = np.full((256, 560, 3), 80, np.uint8)
        frame[:, i % 40 : i % 40 + 512] = np.clip(picture.astype(np.int16) + i, 0, 255).astype(np.uint8)
        frames.append(frame)
    return frames


def record_session(folder: Path, astronaut: np.ndarray, n_frames: int = 90) -> Path:
    """Record the two-face video into folder/session.csv (+ .json, .avi, summaries); returns the CSV path.
    MARKERS[0] goes in after a third of the frames, MARKERS[1] after two thirds."""
    video = write_video(folder / "source.avi", two_face_frames(astronaut, n_frames))
    collector = Collector()
    pipeline = make_pipeline(collector)
    pipeline.start(VideoFileSource(video))
    wait_for(lambda: len(collector.packets) >= 1)
    csv_path = pipeline.start_recording(folder / "session", participant="P01", save_video=True)
    first = len(collector.packets)
    for k, text in enumerate(MARKERS, start=1):
        wait_for(lambda k=k: len(collector.packets) >= first + k * (n_frames - first) // 3)
        pipeline.add_marker(text)
    wait_for(lambda: any(m.startswith("finished") for m in collector.messages("info")), timeout=30)
    time.sleep(0.3)  # the worker writes the last frames it took
    pipeline.stop_recording()
    pipeline.stop()
    return csv_path
