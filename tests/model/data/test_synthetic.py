"""The synthetic face generator: determinism, AffectNet layout, labels inside the class regions."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

from model.config import CLASS_NAMES, ModelConfig
from model.data import open_dataset
from model.data.synthetic import CLASS_REGIONS, class_of, render_face
from model.data.synthetic_dataset import generate_dataset


def _rows(csv_path):
    with open(csv_path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_class_regions_are_disjoint_and_cover_every_class():
    assert len(CLASS_REGIONS) == len(CLASS_NAMES)
    for code, region in enumerate(CLASS_REGIONS):
        for v, a in itertools.product(region.valence, region.arousal):
            assert class_of(v, a) == code
    for first, second in itertools.combinations(CLASS_REGIONS, 2):
        overlap_v = min(first.valence[1], second.valence[1]) > max(first.valence[0], second.valence[0])
        overlap_a = min(first.arousal[1], second.arousal[1]) > max(first.arousal[0], second.arousal[0])
        assert not (overlap_v and overlap_a)
    assert class_of(0.0, 0.0) == 0 and class_of(0.9, 0.9) == -1


def test_render_is_deterministic_for_a_seed():
    first = render_face(np.random.default_rng(5), 3, 64)
    again = render_face(np.random.default_rng(5), 3, 64)
    other = render_face(np.random.default_rng(6), 3, 64)

    assert first.image.shape == (64, 64, 3) and first.image.dtype == np.uint8
    np.testing.assert_array_equal(first.image, again.image)
    assert (first.valence, first.arousal, first.box) == (again.valence, again.arousal, again.box)
    assert not np.array_equal(first.image, other.image)


@pytest.mark.parametrize("expression", range(len(CLASS_NAMES)))
def test_face_box_is_a_detectors_box_and_the_crop_holds_every_part(expression):
    face = render_face(np.random.default_rng(expression), expression, 96)
    x, y, w, h = face.box
    head_rows = np.nonzero(face.face_mask[:, x + w // 2])[0]  # the head on the box's middle column

    assert 0.38 * 96 <= h <= 0.72 * 96 and 0.8 * h <= w <= 1.2 * h  # head height 50-90% of the image
    assert head_rows.min() < y < head_rows.min() + 0.4 * h  # the top of the forehead is left out
    side = max(w, h) * (1 + 2 * ModelConfig().crop_margin)  # the training crop: a square on the box
    rows, cols = np.nonzero(face.feature_mask)
    assert abs(rows - (y + h / 2)).max() < side / 2 and abs(cols - (x + w / 2)).max() < side / 2
    assert class_of(face.valence, face.arousal) == expression


def test_dataset_is_deterministic_and_splits_use_different_seeds(tmp_path):
    a = generate_dataset(tmp_path / "a", 24, seed=7, size=64)
    b = generate_dataset(tmp_path / "b", 24, seed=7, size=64, workers=2)
    val = generate_dataset(tmp_path / "a", 24, seed=7, split="validation", size=64)

    assert a.csv_path.read_bytes() == b.csv_path.read_bytes()
    for row in _rows(a.csv_path):
        path = row["subDirectory_filePath"]
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()
    train_va = {(r["valence"], r["arousal"]) for r in _rows(a.csv_path)}
    val_va = {(r["valence"], r["arousal"]) for r in _rows(val.csv_path)}
    assert not train_va & val_va
    assert a.class_counts == dict.fromkeys(CLASS_NAMES, 3)


def test_dataset_reads_back_with_the_affectnet_loader_and_regions(tmp_path, config):
    summary = generate_dataset(tmp_path, 40, seed=1, split="validation", size=64)

    ds = open_dataset(tmp_path, "affectnet", "validation", config)

    assert summary.csv_path == tmp_path / "validation.csv"
    assert len(ds) == 40 and sum(ds.skip_counts.values()) == 0
    labels, va = ds.expression_labels(), ds.valence_arousal_labels()
    assert np.bincount(labels, minlength=8).tolist() == [5] * 8
    assert [class_of(float(v), float(a)) for v, a in va] == labels.tolist()
    assert ds[0]["image"].shape == (3, 64, 64)


def test_existing_split_is_not_overwritten_silently(tmp_path):
    generate_dataset(tmp_path, 8, seed=0, size=48)

    with pytest.raises(FileExistsError, match="--overwrite"):
        generate_dataset(tmp_path, 8, seed=1, size=48)
    generate_dataset(tmp_path, 4, seed=1, size=48, overwrite=True)

    assert len(_rows(tmp_path / "training.csv")) == 4
    assert len(list((tmp_path / "images" / "training").rglob("*.jpg"))) == 4


@pytest.mark.parametrize("expression", range(len(CLASS_NAMES)))
def test_masks_mark_the_expressive_parts_inside_the_head(expression):
    face = render_face(np.random.default_rng(100 + expression), expression, 96)
    head, parts = face.face_mask, face.feature_mask

    assert head.shape == parts.shape == (96, 96) and head.dtype == parts.dtype == bool
    assert not (parts & ~head).any()
    assert 0.1 <= parts.sum() / head.sum() <= 0.5  # eyes, brows and mouth: a part of the head, not all
    ys, xs = np.nonzero(parts)
    hy, hx = np.nonzero(head)
    # the parts sit around the head's centre, not in a corner of it
    assert abs(ys.mean() - hy.mean()) < 0.25 * np.ptp(hy) and abs(xs.mean() - hx.mean()) < 0.2 * np.ptp(hx)
