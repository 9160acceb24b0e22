"""YuNet (libfacedetection, the `yuface` wheel: BSD-3, weights compiled in, nothing downloaded) as the
last passes for still images, after MediaPipe's.

    detector = YuNetDetector()
    passes = detector.detect_passes(frame)  # list of lists of Detection, BlazeFace framing and keypoints

`bench --detection` measured it: on the generated group scenes and close-ups it finds faces MediaPipe
misses (docs/BENCHMARKS.md "Face detection"). Three passes, each adding faces the others miss:
- the frame as it is;
- the frame inside a border of its mean colour (PAD_SHARE of its shorter side on every side): a face cut
  by the frame edge no longer touches the image edge, where YuNet finds few faces; only the faces near
  an edge are kept from it (the others are the first pass's to find: away from the edges the border
  adds nothing but false faces);
- the frame upscaled (x UPSCALE, at most UPSCALE_MAX_SIDE px on its longer side, none below
  UPSCALE_MIN): faces 24-40 px wide become the size YuNet finds reliably; only the small faces are kept
  from it.
Its boxes run from the forehead to the chin; they are reframed as BlazeFace frames a face (eyebrows to
chin), with the medians measured on the faces both found (BLAZE_FRAMING), so the model's crop is the
same whichever detector found the face. Keypoints: YuNet's eyes and nose, and the middle of its two
mouth corners as the mouth, in BlazeFace's order (right eye, left eye, nose tip, mouth).
"""

from __future__ import annotations

import ctypes
import warnings
from pathlib import Path

import cv2
import numpy as np

from app.core.detection import Detection
from app.core.tracking import iou

YUNET_MIN_SCORE = 0.75  # bench --detection, three passes: precision 0.984 at 0.75, 0.976 at 0.7
# The score yuface is asked for: its own candidates are merged among those (its non-maximum suppression
# sees them); the faces kept are those >= YUNET_MIN_SCORE. Asking it for 0.75 directly lost a face of
# 24-40 px and one of 128+ px on the benchmark (recall 0.838 and 0.971 against 0.865 and 0.985).
YUNET_CANDIDATE_SCORE = 0.7
PAD_SHARE = 0.1  # border added on every side in the padded pass, a share of the frame's shorter side
UPSCALE = 2.0  # the upscaled pass's factor ...
UPSCALE_MAX_SIDE = 3840  # ... lowered so that the longer side stays within this ...
UPSCALE_MIN = 1.5  # ... and no upscaled pass below this factor (large photos: their small faces are many px)
UPSCALED_MAX_FACE_PX = 128  # the upscaled pass keeps the faces narrower than this (frame px): the small ones
CHECK_WINDOW, CHECK_FACE_PX = 4.0, 64  # an upscaled-pass face is looked at again in a window 4x its width,
# resized so the face is 64 px wide, when it is narrower than CHECK_BELOW_PX
CHECK_BELOW_PX = 64
EDGE_SHARE = 0.5  # the padded pass keeps the faces within this share of their width of a frame edge
# OpenMP threads of YuNet's runtime. Its threads wait by spinning: beside the app's other threads on a
# 2-core CPU, 2 threads took 1.6x the time of 1 on a 1280 px frame and up to 50x on small images.
YUNET_THREADS = 1
# BlazeFace box / YuNet box on the 95 faces both found in the benchmark scenes (medians):
# width x1.11, height x0.85, centre moved down by 0.05 of YuNet's height
BLAZE_FRAMING = (1.11, 0.85, 0.05)


def _near_edge(box: tuple[int, int, int, int], width: int, height: int) -> bool:
    """True when `box` (x, y, w, h) lies within EDGE_SHARE of its width of a frame edge."""
    x, y, w, h = box
    reach = EDGE_SHARE * w
    return x <= reach or y <= reach or x + w >= width - reach or y + h >= height - reach


def _openmp_thread_setter(yuface_file: str):
    """`omp_set_num_threads` of the OpenMP runtime the yuface wheel bundles (its own copy, not torch's),
    or None where the wheel has none (other platforms' builds)."""
    libs = sorted((Path(yuface_file).resolve().parent.parent / "yuface.libs").glob("libgomp*.so*"))
    if not libs:
        return None
    try:
        return ctypes.CDLL(str(libs[0])).omp_set_num_threads
    except (OSError, AttributeError):
        return None


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
        self._set_threads = _openmp_thread_setter(yuface.__file__)

    def _run(self, bgr: np.ndarray, min_score: float):
        """yuface.detect on one BGR image with YUNET_THREADS OpenMP threads (set in the calling thread)."""
        if self._set_threads is not None:
            self._set_threads(YUNET_THREADS)
        with warnings.catch_warnings():  # it warns on frames over 960 px; the benchmark counts them too
            warnings.simplefilter("ignore", UserWarning)
            return self._detect(bgr, conf=min(YUNET_CANDIDATE_SCORE, min_score))

    def detect_passes(self, frame: np.ndarray) -> list[list[Detection]]:
        """The faces of one (H,W,3) uint8 RGB frame found by each pass (as it is, padded, upscaled; see
        the module docstring), in frame pixels, each pass best score first."""
        height, width = frame.shape[:2]
        passes = [self.detect(frame)]
        pad = int(round(PAD_SHARE * min(height, width)))
        fill = [int(v) for v in frame.reshape(-1, frame.shape[2]).mean(axis=0)]
        padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
        passes.append([d for d in self._faces(padded, (pad, pad), 1.0, (width, height))
                       if _near_edge(d.box, width, height)])
        scale = min(UPSCALE, UPSCALE_MAX_SIDE / max(height, width))
        if scale >= UPSCALE_MIN:
            size = (int(round(width * scale)), int(round(height * scale)))
            big = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
            passes.append([d for d in self._faces(big, (0, 0), size[0] / width, (width, height))
                           if d.box[2] < UPSCALED_MAX_FACE_PX
                           and (d.box[2] >= CHECK_BELOW_PX or self.seen_again(frame, d))])
        return passes

    def seen_again(self, frame: np.ndarray, det: Detection, min_score: float | None = None) -> bool:
        """Whether YuNet finds `det` (a box of the (H,W,3) RGB frame, found by any detector) again, scored
        at least `min_score` (default: this detector's), in a window CHECK_WINDOW x its width around it,
        resized so the face is CHECK_FACE_PX wide (another scale and alignment: a texture that looks like
        a face in one rarely does in the other)."""
        height, width = frame.shape[:2]
        x, y, w, h = det.box
        side = int(round(min(CHECK_WINDOW * max(w, h), width, height)))
        x0 = int(np.clip(round(x + w / 2 - side / 2), 0, width - side))
        y0 = int(np.clip(round(y + h / 2 - side / 2), 0, height - side))
        scale = CHECK_FACE_PX / max(w, 1)
        window = cv2.resize(frame[y0:y0 + side, x0:x0 + side], (round(side * scale), round(side * scale)),
                            interpolation=cv2.INTER_LINEAR)
        again = self._faces(window, (0, 0), scale, (side, side), min_score)
        moved = (x - x0, y - y0, w, h)
        return any(iou(moved, d.box) >= 0.3 for d in again)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """The faces of one (H,W,3) uint8 RGB frame as it is, clipped to it, best score first."""
        height, width = frame.shape[:2]
        return self._faces(frame, (0, 0), 1.0, (width, height))

    def _faces(self, image: np.ndarray, offset: tuple[int, int], scale: float,
               frame_size: tuple[int, int], min_score: float | None = None) -> list[Detection]:
        """YuNet's faces scored at least `min_score` (default: this detector's) on `image`, a frame of
        `frame_size` (width, height) scaled by `scale` and then shifted by `offset` (x, y) px: boxes and
        keypoints brought back to frame pixels, clipped to the frame."""
        width, height = frame_size
        min_score = self.min_score if min_score is None else min_score
        scores, boxes, landmarks = self._run(np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_RGB2BGR)),
                                             min_score)
        out = []
        sx, sy, down = BLAZE_FRAMING
        dx, dy = offset
        for score, box, points in zip(scores, boxes.astype(float), landmarks.astype(float), strict=True):
            if score / 100.0 < min_score:
                continue
            box = ((box[0] - dx) / scale, (box[1] - dy) / scale, box[2] / scale, box[3] / scale)
            points = (points - np.tile([dx, dy], 5)) / scale  # (10,) x, y of 5 keypoints
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
