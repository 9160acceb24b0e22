"""Fused attention heatmap: stage maps weighted by layer attention, peak where the model looked."""

from __future__ import annotations

import numpy as np

from app.core.annotate import annotate_frame
from app.core.packets import FaceResult


def test_annotation_draws_inside_the_face_square_only():
    frame = np.full((100, 120, 3), 128, np.uint8)
    face = FaceResult(
        face_id=3, box=(40, 30, 20, 20), score=0.9, valence=0.5, arousal=-0.2, valence_smoothed=0.5,
        arousal_smoothed=-0.2, valence_corrected=None, arousal_corrected=None,
        probabilities=np.full(8, 0.125), expression="happy",
        spatial_attention=tuple(np.full((2, 2), 0.25) for _ in range(4)),
        layer_attention=np.full(4, 0.25), crop=np.zeros((30, 30, 3), np.uint8))
    out = annotate_frame(frame, [face], margin=0.25)
    assert out.shape == frame.shape and not np.shares_memory(out, frame)
    changed = np.any(out != frame, axis=2)
    assert changed[30:50, 40:60].any() and not changed[80:, :].any()  # the square spans x 35..65, y 25..55
    assert (frame == 128).all()  # the input is left untouched
