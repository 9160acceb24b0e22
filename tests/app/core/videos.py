"""Test stand-ins for a webcam: videos written with cv2.VideoWriter from scikit-image's astronaut face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# The astronaut's head with some context (her face is about 95 px wide in it).
HEAD_ROWS, HEAD_COLS = slice(0, 256), slice(120, 376)


def astronaut_head(astronaut: np.ndarray, side: int = 128) -> np.ndarray:
    """The astronaut's head, resized to (side, side, 3) uint8 RGB."""
    return cv2.resize(astronaut[HEAD_ROWS, HEAD_COLS], (side, side), interpolation=cv2.INTER_AREA)


def two_faces(astronaut: np.ndarray) -> np.ndarray:
    """Two copies of the astronaut's head side by side, (256, 512, 3) uint8 RGB."""
    head = astronaut[HEAD_ROWS, HEAD_COLS]
    return np.ascontiguousarray(np.concatenate([head, head[:, ::-1]], axis=1))


def moving_face_frames(
    astronaut: np.ndarray, n: int, size: tuple[int, int] = (320, 240), step: int = 4, side: int = 160
) -> list[np.ndarray]:
    """n frames (H,W,3) of the head sliding right by `step` px per frame over a gray background."""
    width, height = size
    head = astronaut_head(astronaut, side)
    frames = []
    for i in range(n):
        frame = np.full((height, width, 3), 90, np.uint8)
        x = 10 + (i * step) % max(1, width - side - 20)
        y = (height - side) // 2
        frame[y : y + side, x : x + side] = head
        frames.append(frame)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    """Write RGB frames to an MJPG .avi (or mp4v .mp4, by suffix) and return the path."""
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if path.suffix == ".mp4" else "MJPG"))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    assert writer.isOpened(), f"cv2.VideoWriter cannot write {path}"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path
