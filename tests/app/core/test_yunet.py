"""YuNet, the still images' last detection pass: framed and keypointed as BlazeFace, and it adds the
faces the BlazeFace passes miss without doubling any."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.core.bench.detection import benchmark_scenes, score_frame
from app.core.detection import FaceDetector
from app.core.face_finder import FaceFinder
from app.core.settings import DetectionSettings
from app.core.tracking import iou
from app.core.yunet import YuNetDetector


def test_a_yunet_face_is_framed_and_keypointed_as_blazeface_frames_it(astronaut_rgb) -> None:
    (face,) = YuNetDetector().detect(astronaut_rgb)
    with FaceDetector("full") as blaze:
        (reference,) = blaze.detect(astronaut_rgb)
    assert iou(face.box, reference.box) > 0.7  # the model's crop is the same whichever found the face
    right_eye, left_eye, nose, mouth = face.keypoints
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_stills_find_more_faces_with_yunet_and_no_duplicates() -> None:
    scenes = benchmark_scenes(seed=7, groups=4, closeups=4)  # 26 faces, 3 of them missed without YuNet
    plan = DetectionSettings().plan(still=True)
    assert plan.yunet
    found = {}
    for name, chosen in (("without", replace(plan, yunet=False)), ("with", plan)):
        with FaceFinder(chosen) as finder:
            scores = [score_frame(scene, finder.detect(scene.image), 0.0) for scene in scenes]
        found[name] = sum(sum(s.hits.values()) for s in scores)
        assert sum(s.duplicates for s in scores) == 0, name
    assert found["with"] > found["without"]  # 24 against 21 here


def test_the_padded_and_upscaled_passes_give_boxes_in_frame_pixels(astronaut_rgb) -> None:
    import cv2

    small = cv2.resize(astronaut_rgb, (256, 256), interpolation=cv2.INTER_AREA)  # face ~50 px
    at_edge = np.ascontiguousarray(small[:, 80:])  # the face near the left edge: the padded pass keeps it
    plain, padded, upscaled = YuNetDetector().detect_passes(at_edge)
    (reference,) = plain
    for other in (padded, upscaled):  # the same face, mapped back from the padded / 2x image
        (face,) = other
        assert iou(face.box, reference.box) > 0.8
        assert max(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in
                   zip(face.keypoints, reference.keypoints, strict=True)) < 0.1 * reference.box[2]


def test_a_large_unsure_box_needs_a_second_model_and_a_small_one_a_second_look(astronaut_rgb) -> None:
    from app.core.detection import Detection

    height, width = astronaut_rgb.shape[:2]
    big = Detection(box=(100, 50, 300, 300), score=0.5, keypoints=())  # over a fifth of the frame
    sure = replace(big, score=0.9)
    other = Detection(box=(110, 60, 290, 290), score=0.8, keypoints=())
    elsewhere = Detection(box=(0, 400, 60, 60), score=0.8, keypoints=())
    with FaceFinder(DetectionSettings().plan(still=True)) as finder:
        assert finder._confirmed(astronaut_rgb, sure, width, height, [sure])  # sure boxes stand alone
        assert not finder._confirmed(astronaut_rgb, big, width, height, [big, elsewhere])
        assert finder._confirmed(astronaut_rgb, big, width, height, [big, other, elsewhere])


def test_the_padded_pass_keeps_only_faces_near_an_edge_and_the_upscaled_one_only_small_faces(astronaut_rgb):
    import cv2

    small = cv2.resize(astronaut_rgb, (256, 256), interpolation=cv2.INTER_AREA)  # face ~50 px, inside
    plain, padded, upscaled = YuNetDetector().detect_passes(small)
    assert len(plain) == 1 and padded == [] and len(upscaled) == 1
    large = cv2.resize(astronaut_rgb, (1024, 1024), interpolation=cv2.INTER_LINEAR)  # face ~200 px
    plain, padded, upscaled = YuNetDetector().detect_passes(large)
    assert len(plain) == 1 and padded == [] and upscaled == []
