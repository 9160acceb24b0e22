"""Re-identification: descriptors of one person match across conditions, others do not; a person who
leaves the view and comes back keeps their id."""

from __future__ import annotations

import numpy as np

from app.core.bench.scenes import face_sprites
from app.core.bench.tracking import Clip, Walker, score_sequence
from app.core.cropping import crop_square
from app.core.reid import REID_THRESHOLD
from app.core.settings import PipelineSettings
from model.face_embedding import FaceEmbedder


def _crop(sprite, side: int, light: float = 1.0) -> np.ndarray:
    import cv2

    crop = crop_square(sprite.image, tuple(int(v) for v in sprite.box), margin=0.1)
    crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    return np.clip(crop.astype(np.float32) * light, 0, 255).astype(np.uint8)


def test_one_person_matches_across_size_and_light_and_others_do_not():
    sprites = face_sprites()[:8]
    embedder = FaceEmbedder()
    near = embedder.embed([_crop(s, 160) for s in sprites])  # (8,128)
    far = embedder.embed([_crop(s, 60, light=0.75) for s in sprites])
    distances = np.linalg.norm(near[:, None] - far[None], axis=2)  # (8,8): same person on the diagonal
    assert np.all(np.diag(distances) < REID_THRESHOLD)
    assert np.all(distances[~np.eye(len(sprites), dtype=bool)] > REID_THRESHOLD)


def _away_and_back(t: float):
    """In view, out through the left edge at 0.6 s, out of view 1.6 s (longer than the tracker's
    timeout), then back at the same place."""
    if t < 0.6:
        return 300.0 - 500.0 * max(0.0, t - 0.2), 360.0, 120.0
    if t < 2.2:
        return None
    return 100.0 + 400.0 * min(0.5, t - 2.2), 360.0, 120.0


def test_a_person_who_leaves_and_returns_keeps_the_id():
    sprites = face_sprites()
    clip = Clip("away", (Walker(1, sprites[6], _away_and_back),
                         Walker(2, sprites[13], lambda t: (900.0, 300.0, 150.0))), 3.2, 5)
    assert PipelineSettings().track_timeout_s < 1.6  # the tracker alone would retire the id
    report = score_sequence(clip)
    assert report["ids_per_person"] == {"1": 1, "2": 1}
    assert report["switches"] == 0
    without = score_sequence(clip, PipelineSettings(reidentify=False))
    assert without["ids_per_person"]["1"] == 2  # what the tracker alone does


def test_the_live_pipeline_gives_a_returning_person_their_id(tmp_path):
    """The Live tab's path end to end: a two-person video in which one steps out for 1.6 s."""
    from app.core.bench.tracking import render
    from app.core.pipeline import LivePipeline
    from app.core.sources import VideoFileSource
    from model.config import ModelConfig
    from model.network import build_model
    from model.predictor import load_predictor
    from tests.app.core.videos import write_video

    sprites = face_sprites()
    clip = Clip("away", (Walker(1, sprites[6], _away_and_back),
                         Walker(2, sprites[13], lambda t: (900.0, 300.0, 150.0))), 3.2, 5)
    video = write_video(tmp_path / "away.avi", [frame for _, frame, _ in render(clip)])
    predictor = load_predictor(build_model(ModelConfig(input_size=64)), "torch", metadata={"name": "tiny"})
    packets = []
    pipeline = LivePipeline(packets.append, None, PipelineSettings(),  # paced like a camera
                            predictor_factory=lambda path, runtime, device: predictor)
    pipeline.start(VideoFileSource(video))
    pipeline.wait_ready(60)
    while pipeline.threads_alive():
        import time

        time.sleep(0.05)
    pipeline.stop()
    ids_left = {f.face_id for p in packets if p.timestamp_s < 0.4 for f in p.faces if f.box[0] < 600}
    ids_back = {f.face_id for p in packets if p.timestamp_s > 2.6 for f in p.faces if f.box[0] < 600}
    assert len(ids_left) == 1 and ids_back == ids_left  # the same id before and after
    assert all(len({f.face_id for f in p.faces}) == len(p.faces) for p in packets)  # never two of one id
