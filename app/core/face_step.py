"""The one face step of live and file analysis: find and track, crop, resize, batch, predict, results.

    located, in_view = locate_faces(finder, tracker, frame, t, limit)             # video frames: ids
    faces = predict_faces(frame, detections, face_ids, predictor, pad="constant")   # raw readings
    faces = [with_post_processing(f, v_s, a_s, v_c, a_c) ...]                    # live: smoothed, corrected

The live pipeline, `analyze`, the Images tab and `bench --pipeline` all call `predict_faces`, so one
face in one frame gives the same numbers everywhere. Each crop is the square window around the detector
box (`app.core.cropping`), resized by `model.preprocessing.resize_crop` (the resize the network was
evaluated with), and all faces of a frame go to the model as one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from app.core.cropping import crop_faces
from app.core.detection import Detection
from app.core.face_finder import FaceFinder
from app.core.face_quality import face_quality
from app.core.packets import FaceResult
from app.core.reid import Reidentifier
from app.core.tracking import FaceTracker, TrackedFace


def locate_faces(finder: FaceFinder, tracker: FaceTracker, frame: np.ndarray, timestamp_s: float,
                 limit: int, reid: Reidentifier | None = None) -> tuple[list[TrackedFace], int]:
    """The faces of one video frame (H,W,3) with their ids: `finder` searches its plan's passes and
    where `tracker` expects its faces, `tracker` matches them and carries the ones missed, and `reid`
    (when given) gives a returning person their old id. Returns at most `limit` faces (detected ones
    first, best first) and how many faces are in view."""
    height, width = frame.shape[:2]
    detections = finder.detect(frame, tracker.expected(timestamp_s))
    located = tracker.update(detections, timestamp_s, (width, height))
    if reid is not None:
        located = reid.observe(frame, located, tracker, timestamp_s)
    return located[:limit], len(located)


def predict_located(frame: np.ndarray, located: Sequence[TrackedFace], predictor: Any,
                    pad: str = "constant", margin: float | None = None) -> tuple[FaceResult, ...]:
    """`predict_faces` on tracked faces: their boxes, ids and whether each was detected or carried."""
    return predict_faces(frame, [f.detection for f in located], [f.face_id for f in located], predictor,
                         pad, margin, detected=[f.detected for f in located])


def model_crops(
    frame: np.ndarray, boxes: Sequence[Sequence[int]], predictor: Any, pad: str = "constant",
    margin: float | None = None,
) -> list[np.ndarray]:
    """B x (S,S,3) uint8 crops, one per box, exactly as the network reads them. `margin`: context around
    each box (default the model's `crop_margin`; 0 for images that are face crops already)."""
    from model.preprocessing import resize_crop  # torch comes with the model, not with the window (start-up)

    config = predictor.config
    margin = config.crop_margin if margin is None else margin
    native = crop_faces(frame, boxes, margin, pad=pad)  # B x (side,side,3)
    return [resize_crop(crop, config.input_size) for crop in native]  # B x (S,S,3)


def predict_faces(
    frame: np.ndarray,
    detections: Sequence[Detection],
    face_ids: Sequence[int],
    predictor: Any,
    pad: str = "constant",
    margin: float | None = None,
    detected: Sequence[bool] | None = None,
) -> tuple[FaceResult, ...]:
    """Run the model once on every detected face of `frame`; raw readings (smoothed = raw, uncorrected).
    `margin` as in `model_crops`; `detected[i]` False: face i was carried by the tracker, not detected
    in this frame (default: all detected)."""
    if not detections:
        return ()
    crops = model_crops(frame, [d.box for d in detections], predictor, pad, margin)
    pred = predictor.predict(crops)
    detected = [True] * len(detections) if detected is None else list(detected)
    std = pred.valence_arousal_std  # (B,2) or None
    faces = []
    for i, (det, face_id) in enumerate(zip(detections, face_ids, strict=True)):
        v, a = (float(x) for x in pred.valence_arousal[i])
        v_std, a_std = (None, None) if std is None else (float(x) for x in std[i])
        faces.append(FaceResult(
            face_id=int(face_id), box=det.box, score=det.score, valence=v, arousal=a,
            valence_smoothed=v, arousal_smoothed=a, valence_corrected=None, arousal_corrected=None,
            probabilities=pred.probabilities[i], expression=pred.expressions[i],
            spatial_attention=tuple(m[i] for m in pred.spatial_attention),
            layer_attention=pred.layer_attention[i], crop=crops[i], detected=bool(detected[i]),
            quality=face_quality(crops[i], det.box, det.keypoints), valence_std=v_std, arousal_std=a_std,
        ))
    return tuple(faces)


def with_post_processing(
    face: FaceResult, valence_smoothed: float, arousal_smoothed: float,
    valence_corrected: float | None, arousal_corrected: float | None,
) -> FaceResult:
    """`face` with the live pipeline's smoothed and baseline-corrected readings filled in."""
    return replace(face, valence_smoothed=valence_smoothed, arousal_smoothed=arousal_smoothed,
                   valence_corrected=valence_corrected, arousal_corrected=arousal_corrected)
