"""The fixed scale on which attention maps are drawn, so a colour means the same in every frame and layer.

A first-level attention map A_l (H_l, W_l) sums to 1 over its N_l = H_l * W_l positions, so its values
depend on the map size: uniform attention is 1/N_l everywhere. The display value of a position is its
share of attention relative to uniform, divided by FULL_SCALE and clipped to 0..1:

    display = clip(A_l * N_l / FULL_SCALE, 0, 1)

With FULL_SCALE = 4, a position holding 4x (or more) its uniform share is drawn at full colour and
uniform attention at 0.25, whatever the layer's size. Images are then drawn with fixed levels (0, 1),
never auto-levelled.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

FULL_SCALE = 4.0  # attention relative to uniform that is drawn at full colour


def attention_display(attention_map: np.ndarray) -> np.ndarray:
    """A (H, W) attention map (sums to 1) on the fixed 0..1 display scale, float32 (H, W)."""
    a = np.asarray(attention_map, dtype=np.float32)  # (H,W)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"an attention map must be a non-empty 2-D array, got shape {a.shape}")
    return np.clip(a * (a.size / FULL_SCALE), 0.0, 1.0).astype(np.float32)  # (H,W)


def fused_attention(maps: Sequence[np.ndarray], layer_weights: np.ndarray, size: int) -> np.ndarray:
    """The layer-weighted mix of the four maps, resized to (size, size), on the same fixed 0..1 scale.

    Each map is first expressed relative to uniform (A_l * N_l), bilinearly resized, and weighted by
    the second-level attention; the sum goes through the same FULL_SCALE clipping as single maps.
    """
    weights = np.asarray(layer_weights, dtype=np.float32).reshape(-1)  # (L,)
    if len(maps) != weights.size:
        raise ValueError(f"got {len(maps)} attention maps but {weights.size} layer weights")
    fused = np.zeros((size, size), dtype=np.float32)  # (size,size)
    for a, w in zip(maps, weights, strict=True):
        relative = np.asarray(a, dtype=np.float32) * a.size  # (H_l,W_l), 1 = uniform
        fused += w * cv2.resize(relative, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.clip(fused / FULL_SCALE, 0.0, 1.0)
