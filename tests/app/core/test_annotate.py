"""Fused attention heatmap: stage maps weighted by layer attention, peak where the model looked."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.annotate import annotate_frame, fused_attention
from app.core.packets import FaceResult


def test_uniform_maps_fuse_to_a_flat_map():
    maps = [np.full((s, s), 1.0 / (s * s)) for s in (16, 8, 4, 2)]
    fused = fused_attention(maps, np.full(4, 0.25), 32)
    assert fused.shape == (32, 32) and np.allclose(fused, 1.0)


def test_the_layer_with_the_weight_decides_where_the_peak_is():
    top_left = np.zeros((4, 4))
    top_left[0, 0] = 1.0
    bottom_right = np.zeros((8, 8))
    bottom_right[7, 7] = 1.0
    flat = [np.full((2, 2), 0.25), np.full((2, 2), 0.25)]
    fused = fused_attention([top_left, bottom_right, *flat], np.array([0.9, 0.1, 0.0, 0.0]), 64)
    assert fused.max() == pytest.approx(1.0)
    y, x = np.unravel_index(fused.argmax(), fused.shape)
    assert y < 16 and x < 16
    with pytest.raises(ValueError, match="layer weights"):
        fused_attention([top_left], np.full(4, 0.25), 8)


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
