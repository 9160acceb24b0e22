"""The quality verdict on generated faces (blurred, dark, bright, tiny, tilted), the head-pose geometry,
and the quality columns of a recorded row."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from app.core.bench.quality import render
from app.core.bench.scenes import face_sprites
from app.core.cropping import crop_faces
from app.core.detection import FaceDetector
from app.core.face_quality import NOSE_DEPTH, NOSE_DEPTH_PITCH, NOSE_DROP, face_quality, head_pose
from app.core.recorder import QUALITY_COLUMNS, face_cells
from tests.app.gui.widgets.fake_packets import make_face

UPRIGHT_FACE = 8  # a frontal, upright, well-lit face of the shipped set (|roll| about 1 degree)


@pytest.fixture(scope="module")
def detector():
    with FaceDetector("full", min_confidence=0.3) as found:
        yield found


def _quality(detector, **rendering):
    frame, box = render(face_sprites()[UPRIGHT_FACE], **rendering)
    crop = cv2.resize(crop_faces(frame, [box], 0.25)[0], (112, 112), interpolation=cv2.INTER_AREA)
    found = detector.detect(frame)
    return face_quality(crop, box, found[0].keypoints if found else ())


@pytest.mark.parametrize(
    "rendering, reason",
    [
        ({"blur": 4.0}, "blurred"),
        ({"light": 0.25}, "dark"),
        ({"light": 2.8}, "bright"),
        ({"width": 20.0}, "small"),
        ({"angle": 30.0}, "tilted"),
    ],
)
def test_a_poor_face_is_low_and_says_why(detector, rendering, reason) -> None:
    assert _quality(detector).verdict == "good"  # the same face, clean: sharp, lit, 112 px, upright
    quality = _quality(detector, **rendering)
    assert quality.verdict == "low" and reason in quality.reasons


def test_the_roll_follows_the_tilt_of_the_face(detector) -> None:
    upright = _quality(detector).roll_deg
    turned = _quality(detector, angle=20.0).roll_deg  # counter-clockwise in the image
    # BlazeFace's eye keypoints are good to about 2 px; the eyes are about 40 px apart at 112 px wide,
    # so the eye line's angle is good to about atan(2 * 2 / 40), 6 degrees
    assert turned - upright == pytest.approx(-20.0, abs=6.0)


def test_head_pose_geometry() -> None:
    eye_mouth = 1.0
    frontal = [(-0.5, 0.0), (0.5, 0.0), (0.0, NOSE_DROP * eye_mouth), (0.0, eye_mouth)]
    assert head_pose(frontal) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    shift = 0.1  # the nose tip 0.1 inter-eye distances to the image's right
    turned = [frontal[0], frontal[1], (shift, NOSE_DROP), frontal[3]]
    assert head_pose(turned)[1] == pytest.approx(math.degrees(math.atan2(shift, NOSE_DEPTH)), abs=1e-9)
    lower = [frontal[0], frontal[1], (0.0, NOSE_DROP + 0.1), frontal[3]]  # nose low: head tipped down
    assert head_pose(lower)[2] == pytest.approx(math.degrees(math.atan2(-0.1, NOSE_DEPTH_PITCH)), abs=1e-9)
    angle = math.radians(25.0)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    rolled = [tuple(rotation @ np.asarray(p)) for p in turned]
    roll, yaw, pitch = head_pose(rolled)  # a rigid turn in the image changes the roll only
    assert (roll, yaw, pitch) == pytest.approx((25.0, *head_pose(turned)[1:]), abs=1e-9)
    assert head_pose([(0.0, 0.0), (1.0, 0.0)]) is None  # a face carried by the tracker has no keypoints


def test_a_recorded_row_carries_the_quality_columns(detector) -> None:
    quality = _quality(detector, blur=4.0)
    cells = face_cells(replace(make_face(1, 0.2), quality=quality))
    assert cells["quality"] == "low" and "blurred" in cells["quality_reasons"].split(";")
    assert float(cells["sharpness"]) == pytest.approx(quality.sharpness, abs=0.05)
    assert set(QUALITY_COLUMNS) <= set(cells)
    assert not any(face_cells(make_face(1, 0.2)).get(c) for c in QUALITY_COLUMNS)  # not measured: empty
