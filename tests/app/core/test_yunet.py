"""YuNet, the still images' last detection pass: framed and keypointed as BlazeFace, and it adds the
faces the BlazeFace passes miss without doubling any."""

from __future__ import annotations

from dataclasses import replace

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
