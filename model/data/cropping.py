"""Square face crops from a face box: margin per side, squared on the box centre, black-padded at borders."""

from __future__ import annotations

import math

import numpy as np

# A box counts as outside the image when less than this fraction of its area lies inside it.
MIN_BOX_FRACTION_INSIDE = 0.5


def square_window(box: tuple[float, float, float, float], margin: float) -> tuple[int, int, int]:
    """(x0, y0, side) of the square window around box (x, y, w, h) with `margin` per side (box fraction)."""
    x, y, w, h = box
    side = max(1, int(round(max(w, h) * (1.0 + 2.0 * margin))))
    cx, cy = x + w / 2.0, y + h / 2.0
    return int(math.floor(cx - side / 2.0)), int(math.floor(cy - side / 2.0)), side


def crop_square(
    image: np.ndarray, box: tuple[float, float, float, float] | None, margin: float
) -> np.ndarray:
    """image (H,W,3) uint8 -> square crop (side,side,3) uint8 around `box`; None: whole image, no margin.

    Parts of the window beyond the image are filled with black, so the face stays centred and unscaled.
    """
    height, width = image.shape[:2]
    if box is None:
        box, margin = (0.0, 0.0, float(width), float(height)), 0.0
    x0, y0, side = square_window(box, margin)
    out = np.zeros((side, side, image.shape[2]), dtype=image.dtype)  # (side,side,3)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + side, width), min(y0 + side, height)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def box_inside_image(box: tuple[float, float, float, float], width: int, height: int) -> bool:
    """True when box (x, y, w, h) has a positive size and at least half of its area lies inside the image."""
    x, y, w, h = box
    if not (w > 0 and h > 0):
        return False
    inside_w = max(0.0, min(x + w, width) - max(x, 0.0))
    inside_h = max(0.0, min(y + h, height) - max(y, 0.0))
    return inside_w * inside_h >= MIN_BOX_FRACTION_INSIDE * w * h
