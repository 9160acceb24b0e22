"""One face step: the live pipeline and file analysis read the same faces of the same frame identically."""

from __future__ import annotations

import cv2
import numpy as np

from app.core.analysis import analyze_paths
from app.core.face_step import model_crops, predict_faces
from app.core.model_store import open_predictor
from app.core.pipeline import LivePipeline, PipelineSettings
from app.core.sources import ImageSource
from model.preprocessing import preprocess_crops, resize_crop
from tests.app.core.test_pipeline import Collector, wait_for
from tests.app.core.videos import two_faces


def test_live_and_file_analysis_give_identical_numbers_for_the_same_frame(tmp_path, astronaut_rgb):
    frame = cv2.resize(two_faces(astronaut_rgb), (768, 384), interpolation=cv2.INTER_LINEAR)  # faces ~190 px
    image = tmp_path / "pair.png"
    cv2.imwrite(str(image), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    predictor = open_predictor(None, "torch", "cpu")  # the shipped default model

    collector = Collector()  # the pipeline smooths with "none" until told otherwise: raw = smoothed
    pipeline = LivePipeline(collector.packet, collector.event, PipelineSettings(),
                            predictor_factory=lambda path, runtime, device: predictor)
    pipeline.start(ImageSource(image))
    wait_for(lambda: any(p.faces for p in collector.packets))
    pipeline.stop()
    live = next(p for p in collector.packets if p.faces).faces
    files = next(e for e in analyze_paths([image], predictor) if e.kind == "result").faces

    assert len(live) == len(files) == 2
    by_box = {f.box: f for f in files}
    assert set(by_box) == {f.box for f in live}, "the same faces are found live and in the file"
    for face in live:
        other = by_box[face.box]
        np.testing.assert_array_equal(face.crop, other.crop)
        assert (face.valence, face.arousal) == (other.valence, other.arousal)
        np.testing.assert_array_equal(face.probabilities, other.probabilities)
        for a, b in zip(face.spatial_attention, other.spatial_attention, strict=True):
            np.testing.assert_array_equal(a, b)


def test_the_crop_a_face_result_holds_is_the_network_input(astronaut_rgb):
    predictor = open_predictor(None, "torch", "cpu")
    frame = two_faces(astronaut_rgb)
    from app.core.detection import Detection

    detections = [Detection(box=(20, 30, 150, 170), score=0.9), Detection(box=(300, 20, 120, 140), score=0.8)]
    faces = predict_faces(frame, detections, [4, 9], predictor)
    side = predictor.config.input_size
    assert [f.face_id for f in faces] == [4, 9] and all(f.crop.shape == (side, side, 3) for f in faces)
    crops = model_crops(frame, [d.box for d in detections], predictor)
    # predicting the stored crops again (no further resize) gives the same reading: the crop is the input
    again = predictor.predict([f.crop for f in faces])
    np.testing.assert_array_equal(again.valence_arousal[:, 0], [f.valence for f in faces])
    np.testing.assert_array_equal(preprocess_crops(crops, predictor.config),
                                  preprocess_crops([f.crop for f in faces], predictor.config))
    assert resize_crop(faces[0].crop, side) is faces[0].crop  # an S-sized crop is not resized again
