"""A long generated session CSV for the Viewer's scale benchmark (`bench --viewer`).

    rows = write_long_session(path, duration_s=3600, fps=30, faces=4)   # about 432k rows

The file has the Live recorder's columns (SESSION_COLUMNS) and the shape of a real recording: every
face in every frame, slowly drifting V/A with noise, a smoothed copy, softmax probabilities, a marker
every five minutes. The values are random (seeded) but realistic in width, so reading it costs what
reading a real hour costs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.recorder import SESSION_COLUMNS
from model.config import CLASS_NAMES

MARKER_EVERY_S = 300.0


def _columns(duration_s: float, fps: float, faces: int, seed: int) -> dict[str, np.ndarray]:
    """Every column of the session as an array of strings, (frames * faces,) each."""
    rng = np.random.default_rng(seed)
    frames = int(round(duration_s * fps))
    n = frames * faces
    frame = np.repeat(np.arange(frames), faces)  # (n,)
    face = np.tile(np.arange(1, faces + 1), frames)  # (n,)
    t = frame / fps
    drift = np.cumsum(rng.normal(0.0, 0.01, (frames, faces, 2)), axis=0)  # (frames,faces,2) random walk
    va = np.clip(0.6 * np.sin(drift) + rng.normal(0.0, 0.08, drift.shape), -1, 1).reshape(n, 2)
    logits = rng.normal(0.0, 1.0, (n, len(CLASS_NAMES)))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # (n,8)
    marker = np.full(n, "", dtype=object)
    first_rows = np.arange(0, n, faces)
    at_marker = (frame[first_rows] % int(MARKER_EVERY_S * fps)) == 0
    marker[first_rows[at_marker]] = [f"block {k + 1}" for k in range(int(at_marker.sum()))]
    number = {
        "frame": frame.astype(str),
        "timestamp_s": np.char.mod("%.4f", t),
        "wall_time": np.char.mod("%.4f", 1.7e9 + t),
        "face_id": face.astype(str),
        "face_x": (40 + 150 * face).astype(str),
        "face_y": np.full(n, "120"),
        "face_w": np.full(n, "110"),
        "face_h": np.full(n, "110"),
        "face_score": np.char.mod("%.3f", rng.uniform(0.7, 1.0, n)),
        "valence": np.char.mod("%.4f", va[:, 0]),
        "arousal": np.char.mod("%.4f", va[:, 1]),
        "valence_std": np.char.mod("%.4f", rng.uniform(0.05, 0.3, n)),
        "arousal_std": np.char.mod("%.4f", rng.uniform(0.05, 0.3, n)),
        "valence_smoothed": np.char.mod("%.4f", va[:, 0] * 0.9),
        "arousal_smoothed": np.char.mod("%.4f", va[:, 1] * 0.9),
        "valence_corrected": np.full(n, ""),
        "arousal_corrected": np.full(n, ""),
        "latency_ms": np.char.mod("%.1f", rng.uniform(20, 40, n)),
        "sharpness": np.char.mod("%.1f", rng.uniform(40, 200, n)),
        "brightness": np.char.mod("%.1f", rng.uniform(90, 170, n)),
        "clipped": np.char.mod("%.4f", rng.uniform(0, 0.02, n)),
        "roll_deg": np.char.mod("%.1f", rng.normal(0, 4, n)),
        "yaw_deg": np.char.mod("%.1f", rng.normal(0, 10, n)),
        "pitch_deg": np.char.mod("%.1f", rng.normal(0, 6, n)),
    }
    for k, name in enumerate(CLASS_NAMES):
        number[f"p_{name}"] = np.char.mod("%.4f", p[:, k])
    text = {
        "session_id": np.full(n, "bench"),
        "participant": np.full(n, "P01"),
        "face_label": np.full(n, ""),
        "status": np.full(n, "ok"),
        "detection": np.full(n, "detected"),
        "quality": np.full(n, "good"),
        "quality_reasons": np.full(n, ""),
        "expression": np.asarray(CLASS_NAMES, dtype=object)[p.argmax(axis=1)],
        "marker": marker,
    }
    return {**number, **text}


def write_long_session(
    path: str | Path, duration_s: float = 3600.0, fps: float = 30.0, faces: int = 4, seed: int = 0
) -> int:
    """Write the generated session to `path` (SESSION_COLUMNS); returns the number of rows."""
    columns = _columns(duration_s, fps, faces, seed)
    cells = [columns[name].astype(str) for name in SESSION_COLUMNS]
    n = len(cells[0])
    chunk = 50_000
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(SESSION_COLUMNS) + "\n")
        for start in range(0, n, chunk):
            parts = [c[start : start + chunk] for c in cells]
            lines = parts[0].astype(object)
            for part in parts[1:]:
                lines = lines + "," + part.astype(object)
            handle.write("\n".join(lines.tolist()) + "\n")
    return n
