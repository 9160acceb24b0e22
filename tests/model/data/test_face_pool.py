"""The face pool manifest: real faces from installed packages, a held-out split that training never sees."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.data.face_pool import FacePool, square_crop


@pytest.fixture(scope="module")
def pool() -> FacePool:
    return FacePool()


def test_held_out_split_has_100_real_faces_including_the_test_photographs(pool):
    held_out = {f.id for f in pool.faces("heldout")}
    assert len(held_out) >= 100
    assert {"astronaut", "grace_hopper"} <= held_out
    assert pool.faces("train"), "the training pool must not be empty"


def test_no_source_image_feeds_both_splits_and_restricted_sources_stay_held_out(pool):
    summary = pool.summary()
    assert not set(summary["heldout"]) & set(summary["train"])
    assert all(not f.source.restricted for f in pool.faces("train"))


def test_every_face_loads_as_rgb_with_its_box_inside_the_image(pool):
    for face in pool.faces():
        image = pool.image(face)  # also checks the file's sha256 against the manifest
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, face.id
        x0, y0, x1, y1 = face.box
        assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0], face.id


def test_lfw_faces_are_the_first_hundred_items_of_the_stack(pool):
    lfw = [f for f in pool.faces() if f.source.key == "skimage_lfw_subset"]
    assert sorted(f.index for f in lfw) == list(range(100))
    assert pool.image(lfw[0]).shape == (25, 25, 3)


def test_a_changed_file_is_refused_with_the_version_to_install(pool, tmp_path):
    manifest = json.loads(pool.manifest_path.read_text())
    manifest["sources"]["skimage_astronaut"]["sha256"] = "0" * 64
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    changed = FacePool(path)
    astronaut = next(f for f in changed.faces() if f.id == "astronaut")
    with pytest.raises(ValueError, match="scikit-image==0.26.0"):
        changed.image(astronaut)


def test_square_crop_adds_the_margin_and_pads_outside_the_image_with_black():
    image = np.full((10, 10, 3), 200, dtype=np.uint8)
    crop = square_crop(image, (0, 0, 4, 4), margin=0.5)  # side 8, centred on (2,2): 4 pixels hang outside
    assert crop.shape == (8, 8, 3)
    assert np.all(crop[:2, :] == 0) and np.all(crop[:, :2] == 0)
    assert np.all(crop[2:, 2:] == 200)
    with pytest.raises(ValueError, match="empty"):
        square_crop(image, (5, 5, 5, 9), margin=0.1)


def test_unknown_split_is_an_error(pool):
    with pytest.raises(ValueError, match="split"):
        pool.faces("validation")
