"""Drawing results onto frames (for `analyze --save-annotated` and exported images): face boxes, labels
and the fused attention heatmap over each face.

The heatmap is `app.core.attention_scale.fused_attention`: the four first-level maps weighted by the
second-level attention, on the same fixed scale as the app's attention panel, so a colour means the same
in an exported image as on screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from app.core.attention_scale import fused_attention
from app.core.cropping import square_region
from app.core.label_layout import place_labels
from app.core.packets import FaceResult

BOX_COLOR = (0, 220, 90)  # RGB
HEATMAP_OPACITY = 0.6  # at the hottest point; cooler points blend proportionally less


def _overlay_heatmap(image: np.ndarray, face: FaceResult, margin: float) -> None:
    """Blend the face's fused attention (JET colours) into `image` (RGB, in place) over its crop square."""
    x0, y0, side, _ = square_region(face.box, margin)
    heat = fused_attention(face.spatial_attention, face.layer_attention, side)  # (side,side)
    colors = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)  # (side,side,3) BGR
    colors = cv2.cvtColor(colors, cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    sl = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))  # the part of the square inside the frame
    alpha = (HEATMAP_OPACITY * heat[sl])[..., None]  # (h',w',1)
    region = image[fy0:fy1, fx0:fx1].astype(np.float32)
    image[fy0:fy1, fx0:fx1] = (region * (1 - alpha) + colors[sl].astype(np.float32) * alpha).astype(np.uint8)


def face_label(face: FaceResult) -> str:
    """Short label drawn above a face: id, expression, valence and arousal."""
    name = f"#{face.face_id} {face.label}".strip()
    tracked = "" if face.detected else " (tracked)"
    return f"{name} {face.expression} V{face.valence:+.2f} A{face.arousal:+.2f}{tracked}"


def annotate_frame(
    frame: np.ndarray, faces: Sequence[FaceResult], margin: float, heatmap: bool = True, note: str = ""
) -> np.ndarray:
    """A copy of `frame` (uint8 RGB) with each face's heatmap, box and label; `note` is written top-left."""
    image = np.ascontiguousarray(frame, dtype=np.uint8).copy()
    h, w = image.shape[:2]
    scale = max(0.4, min(h, w) / 800.0)
    thickness = max(1, int(round(2 * scale)))
    if heatmap:
        for face in faces:
            _overlay_heatmap(image, face, margin)
    labels = [face_label(face) for face in faces]
    metrics = [cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, thickness) for text in labels]
    sizes = [(tw + 4, th + base + 4) for (tw, th), base in metrics]
    places = place_labels([face.box for face in faces], sizes, (w, h))
    for face, text, ((_, th), _), (lw, lh), (lx, ly) in zip(faces, labels, metrics, sizes, places,
                                                             strict=True):
        x, y, bw, bh = (int(v) for v in face.box)
        cv2.rectangle(image, (x, y), (x + bw, y + bh), BOX_COLOR, thickness)
        lx, ly = int(lx), int(ly)
        cv2.rectangle(image, (lx, ly), (lx + int(lw), ly + int(lh)), (0, 0, 0), -1)
        cv2.putText(image, text, (lx + 2, ly + 2 + th), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, BOX_COLOR,
                    thickness, cv2.LINE_AA)
    if note:
        cv2.putText(image, note, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale,
                    (255, 60, 60), thickness, cv2.LINE_AA)
    return image
