"""Face detection with the vendored MediaPipe models: IMAGE and VIDEO mode, limits and errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from app.core.detection import DETECTOR_DIR, DetectorError, FaceDetector, clip_box, detector_model_path
from app.core.tracking import iou
from model.data.synthetic import render_face
from tests.app.core.videos import two_faces


@pytest.fixture(scope="module")
def image_detector():
    """One short-range IMAGE-mode detector for the module's tests."""
    with FaceDetector(model="short", mode="image") as detector:
        yield detector


def test_vendored_models_match_recorded_checksums():
    readme = (DETECTOR_DIR / "README.md").read_text()
    for model in ("short", "full"):
        path = detector_model_path(model)
        assert hashlib.sha256(path.read_bytes()).hexdigest() in readme
    assert "Apache License" in (DETECTOR_DIR / "LICENSE").read_text()


def test_finds_the_astronaut_face(image_detector, astronaut_rgb):
    detections = image_detector.detect(astronaut_rgb)
    assert len(detections) == 1
    x, y, w, h = detections[0].box
    # her face lies around x 175-275, y 80-180 in the 512x512 photograph
    assert 150 < x < 200 and 60 < y < 110 and 80 < w < 130 and 80 < h < 130
    assert detections[0].score > 0.8
    assert len(detections[0].keypoints) == 6
    right_eye, left_eye = detections[0].keypoints[:2]
    assert x < right_eye[0] < left_eye[0] < x + w


def test_two_faces_in_one_frame_best_first_and_capped(image_detector, astronaut_rgb):
    image = two_faces(astronaut_rgb)
    detections = image_detector.detect(image)
    assert len(detections) == 2
    lefts = sorted(d.box[0] for d in detections)
    assert lefts[0] < 256 <= lefts[1]
    assert detections[0].score >= detections[1].score
    with FaceDetector(model="short", max_faces=1) as one:
        assert len(one.detect(image)) == 1


def test_synthetic_faces_carry_the_box_this_detector_finds(image_detector):
    # Training crops of the synthetic fixture come from its CSV box; the app crops around this detector's
    # box. They must agree, or a model trained on synthetic faces sees them framed unlike in the app.
    overlaps = []
    for i in range(12):
        face = render_face(np.random.default_rng(100 + i), i % 8, 224)
        found = image_detector.detect(face.image)
        assert found, f"no face found in synthetic face {i}"
        overlaps.append(iou(found[0].box, face.box))
    assert np.median(overlaps) > 0.8 and min(overlaps) > 0.6, overlaps


def test_no_face_in_a_blank_frame(image_detector):
    assert image_detector.detect(np.full((120, 160, 3), 128, np.uint8)) == []


def test_full_range_model_finds_the_face(astronaut_rgb):
    with FaceDetector(model="full") as detector:
        assert len(detector.detect(astronaut_rgb)) == 1


def test_video_mode_accepts_repeated_and_backward_timestamps(astronaut_rgb):
    with FaceDetector(mode="video") as detector:
        for t in (0.0, 0.0, 0.5, 0.2, 0.2004):  # mediapipe alone rejects all but increasing ms
            assert len(detector.detect(astronaut_rgb, timestamp_s=t)) == 1
        with pytest.raises(DetectorError, match="timestamp_s"):
            detector.detect(astronaut_rgb)


def test_missing_model_file_names_the_file(tmp_path):
    missing = tmp_path / "nothing.tflite"
    with pytest.raises(DetectorError, match="nothing.tflite"):
        FaceDetector(model_path=missing)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"model": "tiny"}, "unknown face detector model"), ({"mode": "live"}, "unknown detector mode"),
     ({"min_confidence": 1.5}, "min_confidence"), ({"max_faces": 0}, "max_faces")],
)
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(DetectorError, match=message):
        FaceDetector(**kwargs)


def test_bad_frame_and_closed_detector_are_errors(astronaut_rgb):
    detector = FaceDetector()
    with pytest.raises(DetectorError, match="uint8 RGB"):
        detector.detect(astronaut_rgb.astype(np.float32))
    detector.close()
    detector.close()
    with pytest.raises(DetectorError, match="closed"):
        detector.detect(astronaut_rgb)


def test_clip_box_keeps_boxes_inside_the_frame():
    assert clip_box(-10.4, -5, 50, 40, 100, 80) == (0, 0, 40, 35)
    assert clip_box(90, 70, 50, 40, 100, 80) == (90, 70, 10, 10)
    assert clip_box(120, 10, 5, 5, 100, 80) == (99, 10, 1, 5)
