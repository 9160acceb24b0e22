"""Distilling the starter: views, pools, held-out numbers, cancellation, and the shipped starter."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from model.checkpoint import sha256_file
from model.circumplex import derived_va
from model.config import CLASS_NAMES, ModelConfig
from model.distill import (
    CARD_FILE,
    DEFAULT_OUT,
    SHA_FILE,
    STARTER_FILE,
    DistillCancelled,
    DistillOptions,
    distill,
)
from model.distill.heldout import BASELINE, STUDENT, HeldoutOutputs, agreement_report
from model.distill.pool import PoolCancelled, PoolPlan, ViewDataset, build_pool, views_per_face
from model.distill.teachers import FacePool, Teacher, TeacherEnsemble, square_crop
from model.distill.views import (
    NO_AUGMENTATION,
    FaceSource,
    ViewAugmentation,
    mix_views,
    render_view,
    splice_views,
)
from model.predictor import load_predictor

HAPPY, NEUTRAL = CLASS_NAMES.index("happy"), CLASS_NAMES.index("neutral")


def _scene(seed: int = 0) -> np.ndarray:
    """A 200x300 RGB image with smooth colour ramps and random blobs (enough structure to compare crops)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:200, 0:300].astype(np.float32)
    image = np.stack([x / 300 * 255, y / 200 * 255, (x + y) % 97 / 97 * 255], axis=2)
    for _ in range(12):
        cx, cy, r = rng.integers(0, 300), rng.integers(0, 200), rng.integers(5, 25)
        image[(x - cx) ** 2 + (y - cy) ** 2 < r**2] = rng.integers(0, 256, size=3)
    return image.astype(np.uint8)


class _BrightnessTeacher(Teacher):
    """A stand-in 7-class teacher: 'happy' grows with mean brightness, 'neutral' with darkness."""

    class_names = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
    input_size = 32
    pad_square = False

    def __init__(self, name: str, sign: float) -> None:
        super().__init__()
        self.name = name
        self.sign = torch.nn.Parameter(torch.tensor(sign), requires_grad=False)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        b = images.mean(dim=(1, 2, 3)) / 255.0  # (B,)
        logits = torch.zeros(len(images), 7)  # (B,7)
        logits[:, 1] = self.sign * 4 * b
        logits[:, 0] = self.sign * 4 * (1 - b)
        return torch.softmax(logits, dim=1)


def test_views_are_seeded_square_uint8_and_the_canonical_view_is_the_margin_crop():
    image, box = _scene(), (100, 60, 180, 140)
    source = FaceSource(image, box, margin=0.2, size=64)
    a = render_view(source, np.random.default_rng(5), ViewAugmentation())
    b = render_view(source, np.random.default_rng(5), ViewAugmentation())
    c = render_view(source, np.random.default_rng(6), ViewAugmentation())
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)

    crop = torch.from_numpy(square_crop(image, box, 0.2)).permute(2, 0, 1)[None].float()  # (1,3,L,L)
    expected = torch.nn.functional.interpolate(crop, size=(64, 64), mode="bilinear", antialias=True)
    expected = expected[0].permute(1, 2, 0).numpy()  # (64,64,3)
    assert np.abs(source.canonical().astype(np.float32) - expected).mean() < 4.0
    shifted = (
        torch.nn.functional.interpolate(
            torch.from_numpy(square_crop(image, (110, 60, 190, 140), 0.2)).permute(2, 0, 1)[None].float(),
            size=(64, 64),
            mode="bilinear",
            antialias=True,
        )[0]
        .permute(1, 2, 0)
        .numpy()
    )
    assert np.abs(source.canonical().astype(np.float32) - shifted).mean() > 8.0  # geometry matters


def test_gray_augmentation_gives_equal_channels_and_mixup_blends():
    source = FaceSource(_scene(), (100, 60, 180, 140), margin=0.2, size=32)
    gray_only = ViewAugmentation(**{**NO_AUGMENTATION.__dict__, "gray_probability": 1.0})
    view = render_view(source, np.random.default_rng(0), gray_only)
    assert np.array_equal(view[..., 0], view[..., 1]) and np.array_equal(view[..., 1], view[..., 2])
    white, black = np.full((4, 4, 3), 255, np.uint8), np.zeros((4, 4, 3), np.uint8)
    assert np.all(mix_views(white, black, 0.25) == 64)
    with pytest.raises(ValueError, match="weight"):
        mix_views(white, black, 1.5)
    white, black = np.full((40, 40, 3), 255, np.uint8), np.zeros((40, 40, 3), np.uint8)
    spliced = splice_views(white, black, row=0.5, feather=2)  # eyes from one face, mouth from the other
    assert np.all(spliced[:16] == 255) and np.all(spliced[24:] == 0) and 0 < spliced[20, 0, 0] < 255
    with pytest.raises(ValueError, match="row"):
        splice_views(white, black, row=1.0)
    with pytest.raises(ValueError, match="uint8 RGB"):
        FaceSource(np.zeros((10, 10), np.uint8), (1, 1, 5, 5), 0.2, 32)


def test_views_per_face_favours_rare_classes_and_sums_to_the_total():
    tops = [HAPPY, HAPPY, HAPPY, NEUTRAL]
    assert views_per_face(tops, 100, power=0.0).tolist() == [25, 25, 25, 25]
    even_classes = views_per_face(tops, 100, power=1.0)
    assert even_classes.sum() == 100 and even_classes[3] == 50
    assert views_per_face(tops, 7, power=0.5).sum() == 7


def test_pool_targets_are_the_teachers_mean_and_the_dataset_derives_va():
    ensemble = TeacherEnsemble([_BrightnessTeacher("one", 1.0), _BrightnessTeacher("two", 0.5)]).eval()
    faces = [("a", _scene(0), (100, 60, 180, 140)), ("b", _scene(1) // 3, (40, 40, 120, 120))]
    plan = PoolPlan(views=10, mixup_fraction=0.2, splice_fraction=0.1, size=64)
    progress = []
    gen = build_pool("train", plan, faces, ensemble, seed=0)
    try:
        while True:
            progress.append(next(gen))
    except StopIteration as stop:
        views = stop.value
    assert progress[-1].phase == "label" and progress[-1].done == progress[-1].total == 10
    assert len(views) == 10 and views.images.shape == (10, 64, 64, 3)
    assert sum(o in ("mix:a+b", "mix:b+a") for o in views.origins) == 2
    assert sum(o in ("splice:a/b", "splice:b/a") for o in views.origins) == 1
    per = list(views.per_teacher.values())
    assert np.allclose(views.soft_targets, (per[0] + per[1]) / 2, atol=1e-6)
    assert np.allclose(views.soft_targets.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(views.soft_targets[:, CLASS_NAMES.index("contempt")] == 0)

    dataset = ViewDataset(views, ModelConfig(input_size=64))
    item = dataset[3]
    assert item["image"].shape == (3, 64, 64) and int(item["expression"]) == -1
    assert torch.allclose(item["valence_arousal"], torch.from_numpy(derived_va(views.soft_targets[3:4])[0]))
    assert (dataset.expression_labels() == -1).all() and np.isfinite(dataset.soft_target_labels()).all()
    with pytest.raises(ValueError, match="input size"):
        ViewDataset(views, ModelConfig(input_size=112))


def test_agreement_report_counts_agreement_classes_and_the_baseline():
    eye = np.eye(8, dtype=np.float32)
    # ensemble tops: happy, happy, neutral, sad; teachers agree on faces 0, 1, 2
    fer = eye[[HAPPY, HAPPY, NEUTRAL, 2]]
    faceapi = eye[[HAPPY, HAPPY, NEUTRAL, 6]] * 0.9 + eye[[NEUTRAL] * 4] * 0.1
    ensemble = (fer + faceapi) / 2
    student = eye[[HAPPY, NEUTRAL, NEUTRAL, 2]] * 0.8 + 0.2 / 8
    outputs = HeldoutOutputs(
        ["f0", "f1", "f2", "f3"],
        ensemble,
        {"fer": fer, "faceapi": faceapi},
        student,
        derived_va(student).astype(np.float32),
    )
    report = agreement_report(outputs)
    assert report["n_faces"] == 4 and report["n_teachers_agree"] == 3
    assert report["majority_class"] == "happy"
    row = report["rows"][STUDENT]
    assert row["agreement"] == pytest.approx(0.75)
    assert row["agreement_teachers_agree"] == pytest.approx(2 / 3)
    assert row["per_class"] == {"neutral": [1, 1], "happy": [1, 2], "sad": [1, 1]}
    assert report["rows"][BASELINE]["agreement"] == pytest.approx(0.5)
    assert report["rows"]["faceapi"]["agreement"] == pytest.approx(0.75)
    assert row["va_head_vs_own_derived"]["pearson_v"] == pytest.approx(1.0)


def test_cancelling_stops_before_writing_anything(tmp_path):
    cancel = threading.Event()
    cancel.set()
    options = DistillOptions.quick_options(out_dir=tmp_path / "out", work_dir=tmp_path / "work")
    events = list(distill(options, cancel))
    assert isinstance(events[-1], DistillCancelled) and events[-1].phase == "pool"
    assert not (tmp_path / "out").exists()

    ensemble = TeacherEnsemble([_BrightnessTeacher("one", 1.0)]).eval()
    pool = build_pool(
        "train", PoolPlan(views=4, size=32), [("a", _scene(), (100, 60, 180, 140))], ensemble, 0, cancel
    )
    with pytest.raises(PoolCancelled):
        list(pool)


def test_bad_options_are_refused_with_the_option_named(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        DistillOptions(batch_size=0, work_dir=tmp_path).validate()
    with pytest.raises(ValueError, match="input_size"):
        DistillOptions(input_size=100, work_dir=tmp_path).validate()


# --- the shipped starter --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def starter():
    return load_predictor(DEFAULT_OUT / STARTER_FILE)


def test_shipped_starter_says_happy_for_the_astronaut_and_neutral_for_grace_hopper(starter):
    pool = FacePool()
    faces = {f.id: f for f in pool.faces("heldout")}
    crops = [pool.crop(faces[name], starter.config.crop_margin) for name in ("astronaut", "grace_hopper")]
    prediction = starter.predict(crops)
    assert prediction.expressions == ("happy", "neutral")
    assert prediction.valence_arousal[0, 0] > 0.3 and abs(prediction.valence_arousal[1, 0]) < 0.3
    assert prediction.probabilities[:, CLASS_NAMES.index("contempt")].max() < 0.05


def test_shipped_starter_is_labelled_derived_and_matches_its_recorded_checksum(starter):
    meta = starter.metadata
    assert meta["va_source"] == "derived" and meta["untrained"] is False
    assert meta["name"].startswith("starter-distilled") and "quick" not in meta["name"]
    assert {t["name"] for t in meta["teachers"]} == {"fer_mini_xception", "faceapi_expression"}
    recorded = (DEFAULT_OUT / SHA_FILE).read_text().split()[0]
    assert recorded == sha256_file(DEFAULT_OUT / STARTER_FILE) == starter.sha256
    assert recorded in (DEFAULT_OUT / CARD_FILE).read_text()


def test_label_clean_views_keeps_the_students_views_and_lets_the_teachers_see_them_undegraded():
    from dataclasses import replace

    ensemble = TeacherEnsemble([_BrightnessTeacher("one", 1.0), _BrightnessTeacher("two", 0.5)]).eval()
    faces = [("a", _scene(0), (100, 60, 180, 140)), ("b", _scene(1) // 3, (40, 40, 120, 120))]
    noisy = replace(ViewAugmentation(), noise_probability=1.0, noise_std=(60.0, 60.0))  # clips: brightens
    pools = {}
    for clean in (False, True):
        plan = PoolPlan(views=8, size=64, augmentation=noisy, label_clean=clean)
        gen = build_pool("train", plan, faces, ensemble, seed=0)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            pools[clean] = stop.value
    assert np.array_equal(pools[False].images, pools[True].images)  # the student sees the same views
    assert not np.allclose(pools[False].soft_targets, pools[True].soft_targets, atol=1e-4)
