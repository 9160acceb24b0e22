"""Hand-made result packets for widget tests (no model, no pipeline)."""

from __future__ import annotations

import numpy as np

from app.core.packets import FaceResult, FramePacket


def make_face(face_id: int, v: float) -> FaceResult:
    """A face with raw V/A (v, -v), smoothed V/A half of that, uniform expressions and attention."""
    return FaceResult(face_id=face_id, box=(0, 0, 10, 10), score=0.9, valence=v, arousal=-v,
                      valence_smoothed=v / 2, arousal_smoothed=-v / 2, valence_corrected=None,
                      arousal_corrected=None, probabilities=np.full(8, 0.125, np.float32),
                      expression="neutral",
                      spatial_attention=tuple(np.full((2, 2), 0.25, np.float32) for _ in range(4)),
                      layer_attention=np.full(4, 0.25, np.float32), crop=np.zeros((8, 8, 3), np.uint8))


def make_packet(t: float, *faces: FaceResult) -> FramePacket:
    """A 4x4 black frame at time t seconds holding `faces`."""
    return FramePacket(frame_index=int(t * 10), timestamp_s=t, wall_time=0.0,
                       frame=np.zeros((4, 4, 3), np.uint8), faces=faces)
