"""Square face crops with a context margin, padded where they cross the image border.

API (used by the face step, `app.core.face_step`, that live and file analysis share):

    region = square_region(box, margin)                     # (x, y, side, side), may leave the frame
    crop = crop_square(frame, box, margin, pad="constant")  # (side, side, 3) uint8 RGB
    crops = crop_faces(frame, boxes, margin)                # list of crops: one predictor batch

`margin` is `ModelConfig.crop_margin`: extra context per side as a fraction of the box's longer side,
so the square's side is `max(w, h) * (1 + 2 * margin)`, centred on the box. Parts of the square outside
the frame are filled with black ("constant") or the nearest edge pixels ("replicate"). Crops keep their
native resolution; the face step resizes them with `model.preprocessing.resize_crop`. The
window geometry is `model.data.cropping.square_window`, the one the training crops use, so the model
sees faces framed as in training.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from model.data.cropping import square_window

PAD_MODES = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}


def square_region(box: Sequence[int], margin: float) -> tuple[int, int, int, int]:
    """The square (x, y, side, side) a crop takes from the frame around box (x, y, w, h)."""
    x, y, w, h = (int(v) for v in box)
    if w < 1 or h < 1:
        raise ValueError(f"face box must have positive width and height, got {tuple(box)}")
    if margin < 0:
        raise ValueError(f"crop margin must be >= 0, got {margin}")
    x0, y0, side = square_window((x, y, w, h), margin)
    return x0, y0, side, side


def crop_square(
    frame: np.ndarray, box: Sequence[int], margin: float, pad: str = "constant"
) -> np.ndarray:
    """Square uint8 RGB crop (side, side, 3) around box, padded at the borders, at native resolution."""
    if pad not in PAD_MODES:
        raise ValueError(f"unknown crop padding {pad!r}; choose one of {sorted(PAD_MODES)}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 RGB (H,W,3), got {frame.dtype} {frame.shape}")
    height, width = frame.shape[:2]
    x0, y0, side, _ = square_region(box, margin)
    x1, y1 = x0 + side, y0 + side
    inside = frame[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)]
    top, left = max(0, -y0), max(0, -x0)
    bottom, right = max(0, y1 - height), max(0, x1 - width)
    if inside.size == 0:  # the square lies wholly outside the frame
        crop = np.zeros((side, side, 3), np.uint8)
    elif top or bottom or left or right:
        crop = cv2.copyMakeBorder(inside, top, bottom, left, right, PAD_MODES[pad], value=(0, 0, 0))
    else:
        crop = np.ascontiguousarray(inside)
    return crop


def crop_faces(
    frame: np.ndarray,
    boxes: Sequence[Sequence[int]],
    margin: float,
    pad: str = "constant",
) -> list[np.ndarray]:
    """One square crop per box, in box order: the batch handed to `Predictor.predict`."""
    return [crop_square(frame, box, margin, pad=pad) for box in boxes]
