"""YuNet (libfacedetection, the `yuface` wheel: BSD-3, weights compiled in, nothing downloaded) as one
more whole-frame pass for still images, after MediaPipe's.

    detector = YuNetDetector()
    faces = detector.detect(frame)        # list[Detection], BlazeFace framing and keypoint order

`bench --detection` measured it: on the generated group scenes and close-ups it finds faces MediaPipe
misses, mostly faces cut by the frame edge and large faces (docs/BENCHMARKS.md "Face detection").
Its boxes run from the forehead to the chin; they are reframed as BlazeFace frames a face (eyebrows to
chin), with the medians measured on the faces both found (BLAZE_FRAMING), so the model's crop is the
same whichever detector found the face. Keypoints: YuNet's eyes and nose, and the middle of its two
mouth corners as the mouth, in BlazeFace's order (right eye, left eye, nose tip, mouth).
"""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from app.core.detection import Detection

YUNET_MIN_SCORE = 0.7  # bench --detection: precision 0.975 at 0.7 against 0.968 at 0.6
# BlazeFace box / YuNet box on the 95 faces both found in the benchmark scenes (medians):
# width x1.11, height x0.85, centre moved down by 0.05 of YuNet's height
BLAZE_FRAMING = (1.11, 0.85, 0.05)


class YuNetDetector:
    """YuNet on whole uint8 RGB frames; `detect` returns Detections like FaceDetector's."""

    def __init__(self, min_score: float = YUNET_MIN_SCORE) -> None:
        """Import the wheel (ImportError says how to install it)."""
        try:
            import yuface
        except ImportError as exc:
            raise ImportError(
                "the YuNet face detector needs the `yuface` package, a dependency of AffectScope: run "
                "scripts/setup.sh again or pip install yuface==2023.5.1"
            ) from exc
        self._detect = yuface.detect
        self.min_score = float(min_score)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """The faces of one (H,W,3) uint8 RGB frame, clipped to it, best score first."""
        height, width = frame.shape[:2]
        bgr = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        with warnings.catch_warnings():  # it warns on frames over 960 px; the benchmark counts them too
            warnings.simplefilter("ignore", UserWarning)
            scores, boxes, landmarks = self._detect(bgr, conf=self.min_score)
        out = []
        sx, sy, down = BLAZE_FRAMING
        for score, box, points in zip(scores, boxes.astype(float), landmarks.astype(float), strict=True):
            x, y, w, h = box
            cx, cy = x + w / 2.0, y + h / 2.0 + down * h
            bw, bh = sx * w, sy * h
            x0, y0 = max(0, int(round(cx - bw / 2))), max(0, int(round(cy - bh / 2)))
            x1, y1 = min(width, int(round(cx + bw / 2))), min(height, int(round(cy + bh / 2)))
            if x1 <= x0 or y1 <= y0:
                continue
            right_eye, left_eye, nose = (points[0], points[1]), (points[2], points[3]), (points[4], points[5])
            mouth = ((points[6] + points[8]) / 2.0, (points[7] + points[9]) / 2.0)
            out.append(
                Detection(
                    box=(x0, y0, x1 - x0, y1 - y0),
                    score=float(score) / 100.0,
                    keypoints=(right_eye, left_eye, nose, mouth),
                )
            )
        return sorted(out, key=lambda d: d.score, reverse=True)
