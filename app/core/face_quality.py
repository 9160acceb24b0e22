"""How good a face image is for the model, per face and frame: size, sharpness, exposure, head pose,
and one verdict.

    quality = face_quality(crop, box, keypoints, settings=QualitySettings())
    quality.verdict        # "good" or "low"
    quality.reasons        # ("small", "blurred", "dark", "bright", "tilted"): why it is low

Measures (`FaceQuality`):
- `width_px`: the detector box's width in frame pixels;
- `sharpness`: variance of the Laplacian of the grey crop resized to QUALITY_SIDE px (the crop the model
  reads, so a small face blown up reads as blurred, as it looks to the model);
- `brightness`: mean grey level (0-255) of the crop's inner half (the face, not the margin);
  `clipped`: the share of those pixels at or below 5 or at or above 250 (lost to the dark or the light;
  written, not in the verdict: the brightness sweeps set its thresholds);
- `roll_deg`: in-plane tilt of the eye line (positive: the face turned clockwise in the image);
  `yaw_deg`, `pitch_deg`: rough out-of-plane angles from where the nose tip sits between the eyes and
  the mouth (BlazeFace's keypoints; a geometric approximation, see `head_pose`). None without keypoints
  (a face carried by the tracker).
The verdict is "low" when width, sharpness, brightness or roll passes its threshold in `QualitySettings`;
the thresholds are those `bench --quality` measured (docs/BENCHMARKS.md "Face quality"): the level at
which the model's reading of the same face moves by more than the tolerance. Yaw and pitch are written
but not judged: no pose-labelled faces ship to measure them against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from app.core.settings import GOOD_QUALITY, LOW_QUALITY, QualitySettings

QUALITY_SIDE = 112  # px: crops are compared at one size
DARK_LEVEL, BRIGHT_LEVEL = 5, 250  # grey levels counted as clipped
NOSE_DEPTH = 0.35  # nose tip in front of the eye line, in inter-eye distances (adult average)
NOSE_DROP = 0.595  # frontal nose tip's height from the eye line (0) to the mouth (1): bench --quality
NOSE_DEPTH_PITCH = 0.36  # nose tip in front of the eye-mouth line, in eye-to-mouth distances


@dataclass(frozen=True)
class FaceQuality:
    """The quality measures of one face (module docstring) and the verdict they give."""

    width_px: float
    sharpness: float
    brightness: float
    clipped: float
    roll_deg: float | None
    yaw_deg: float | None
    pitch_deg: float | None
    reasons: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """ "good", or "low" when any measure passed its threshold (see `reasons`)."""
        return LOW_QUALITY if self.reasons else GOOD_QUALITY


def is_low(quality: FaceQuality | None) -> bool:
    """Whether a face's quality was measured and judged low (None: not measured, not low)."""
    return quality is not None and bool(quality.reasons)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian of a (S,S) uint8 grey image (higher: sharper)."""
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def exposure(grey: np.ndarray) -> tuple[float, float]:
    """(mean grey level, share of clipped pixels) of the inner half of a (S,S) grey crop."""
    side = grey.shape[0]
    inner = grey[side // 4 : side - side // 4, side // 4 : side - side // 4]
    clipped = (inner <= DARK_LEVEL) | (inner >= BRIGHT_LEVEL)
    return float(inner.mean()), float(clipped.mean())


def head_pose(keypoints: Sequence[tuple[float, float]]) -> tuple[float, float, float] | None:
    """(roll, yaw, pitch) in degrees from BlazeFace's keypoints (right eye, left eye, nose tip, mouth,
    ...), or None when there are fewer than four.

    Roll is the eye line's angle. Yaw and pitch treat the head as rigid with the nose tip NOSE_DEPTH
    inter-eye distances in front of the eyes: turning by yaw moves the tip sideways from the eyes'
    midpoint by depth x sin(yaw) while the eye distance shrinks by cos(yaw), so tan(yaw) = offset /
    (eye distance x NOSE_DEPTH); pitch likewise from the tip's height between the eye line and the mouth
    against its frontal place NOSE_DROP. Good to about 10-15 degrees near frontal; a rough guide beyond.
    """
    if len(keypoints) < 4:
        return None
    right_eye, left_eye, nose, mouth = (np.asarray(k, dtype=np.float64) for k in keypoints[:4])
    eye_line = left_eye - right_eye  # image coordinates: the subject's left eye is on the image's right
    eye_distance = float(np.hypot(*eye_line))
    if eye_distance < 1e-6:
        return None
    roll = math.degrees(math.atan2(eye_line[1], eye_line[0]))
    along = eye_line / eye_distance  # (2,) unit vector along the eyes
    down = np.array([-along[1], along[0]])  # (2,) unit vector from the eyes towards the mouth
    middle = (right_eye + left_eye) / 2.0
    sideways = float(np.dot(nose - middle, along))
    yaw = math.degrees(math.atan2(sideways, eye_distance * NOSE_DEPTH))
    eye_to_mouth = float(np.dot(mouth - middle, down))
    if eye_to_mouth < 1e-6:
        return roll, yaw, 0.0
    drop = float(np.dot(nose - middle, down)) / eye_to_mouth
    pitch = math.degrees(math.atan2(NOSE_DROP - drop, NOSE_DEPTH_PITCH))
    return roll, yaw, pitch


def face_quality(
    crop: np.ndarray,
    box: Sequence[float],
    keypoints: Sequence[tuple[float, float]] = (),
    settings: QualitySettings | None = None,
) -> FaceQuality:
    """The quality of one face: `crop` (S,S,3) uint8 RGB, the square crop the model reads; `box` the
    detector box (x, y, w, h) in frame pixels; `keypoints` the detector's, in frame pixels; `settings`
    the thresholds (default QualitySettings())."""
    settings = settings or QualitySettings()
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    if grey.shape[0] != QUALITY_SIDE:
        grey = cv2.resize(grey, (QUALITY_SIDE, QUALITY_SIDE), interpolation=cv2.INTER_AREA)
    sharp = sharpness(grey)
    brightness, clipped = exposure(grey)
    pose = head_pose(keypoints)
    roll, yaw, pitch = pose if pose is not None else (None, None, None)
    width = float(box[2])
    reasons = []
    if width < settings.min_width_px:
        reasons.append("small")
    if sharp < settings.min_sharpness:
        reasons.append("blurred")
    if brightness < settings.min_brightness:
        reasons.append("dark")
    if brightness > settings.max_brightness:
        reasons.append("bright")
    if roll is not None and abs(roll) > settings.max_roll_deg:
        reasons.append("tilted")
    return FaceQuality(width, sharp, brightness, clipped, roll, yaw, pitch, tuple(dict.fromkeys(reasons)))
