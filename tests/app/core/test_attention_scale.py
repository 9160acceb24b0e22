"""The fixed 0..1 scale attention maps are drawn on."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.attention_scale import FULL_SCALE, attention_display, fused_attention


def test_uniform_attention_is_drawn_at_the_same_level_whatever_the_map_size() -> None:
    for side in (4, 7, 28):
        uniform = np.full((side, side), 1.0 / side**2, np.float32)
        np.testing.assert_allclose(attention_display(uniform), 1.0 / FULL_SCALE, rtol=1e-6)


def test_a_peak_saturates_and_values_stay_in_zero_one() -> None:
    a = np.zeros((4, 4), np.float32)
    a[1, 2] = 1.0  # all attention on one of 16 cells: 16x uniform
    shown = attention_display(a)
    assert shown[1, 2] == 1.0 and shown.sum() == 1.0 and shown.min() == 0.0


def test_fused_map_weights_the_layers() -> None:
    uniform = [np.full((s, s), 1.0 / s**2, np.float32) for s in (8, 4, 2, 1)]
    fused = fused_attention(uniform, np.array([0.1, 0.2, 0.3, 0.4]), 16)
    assert fused.shape == (16, 16)
    np.testing.assert_allclose(fused, 1.0 / FULL_SCALE, rtol=1e-5)
    with pytest.raises(ValueError, match="layer weights"):
        fused_attention(uniform, np.ones(3), 16)


def test_bad_map_is_refused_with_its_shape() -> None:
    with pytest.raises(ValueError, match=r"\(3,\)"):
        attention_display(np.ones(3))
