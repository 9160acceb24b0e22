"""The two rebuilt teachers and their ensemble: behaviour on real photographs, class mapping, inputs."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from model.backbones.tf_layers import same_padding
from model.config import CLASS_NAMES
from model.distill.teachers import (
    FACEAPI_CLASS_NAMES,
    FER_CLASS_NAMES,
    TeacherEnsemble,
    load_faceapi_teacher,
    load_fer_teacher,
    to_affectnet,
)

# Square face crops (x0, y0, x1, y1): the MediaPipe BlazeFace full-range box of each photo (found once,
# see assets/faces/manifest.json) widened by 20% of its side on every side.
ASTRONAUT_CROP = (152, 46, 296, 190)
GRACE_HOPPER_CROP = (126, 90, 405, 369)


def _crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return image[y0:y1, x0:x1]


@pytest.fixture(scope="module")
def grace_hopper_rgb() -> np.ndarray:
    """matplotlib's sample photograph of Grace Hopper (600x512 uint8 RGB, neutral face, public domain)."""
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module")
def crops(astronaut_rgb: np.ndarray, grace_hopper_rgb: np.ndarray) -> list[np.ndarray]:
    """[astronaut face (144x144), Grace Hopper face (279x279)] as uint8 RGB crops of different sizes."""
    return [_crop(astronaut_rgb, ASTRONAUT_CROP), _crop(grace_hopper_rgb, GRACE_HOPPER_CROP)]


@pytest.fixture(scope="module")
def fer_teacher():
    return load_fer_teacher()


@pytest.fixture(scope="module")
def faceapi_teacher():
    return load_faceapi_teacher()


@pytest.mark.parametrize("teacher_name", ["fer_teacher", "faceapi_teacher"])
def test_teacher_says_happy_on_astronaut_and_neutral_on_grace_hopper(teacher_name, crops, request):
    teacher = request.getfixturevalue(teacher_name)
    with torch.no_grad():
        p = teacher(crops)  # (2,7)
    names = teacher.class_names
    happy = names.index("happy")
    assert p.shape == (2, 7)
    assert torch.allclose(p.sum(dim=1), torch.ones(2), atol=1e-5)
    assert names[int(p[0].argmax())] == "happy" and p[0, happy] >= 0.95
    assert names[int(p[1].argmax())] == "neutral"


def test_teachers_accept_a_uint8_batch_and_a_float_tensor_alike(fer_teacher, faceapi_teacher, crops):
    batch = np.stack([crops[0], crops[0][:, ::-1]])  # (2,144,144,3) uint8, second one mirrored
    for teacher in (fer_teacher, faceapi_teacher):
        with torch.no_grad():
            from_uint8 = teacher(batch)
            from_float = teacher(torch.from_numpy(batch.astype(np.float32)))
        assert torch.allclose(from_uint8, from_float, atol=1e-6)
        assert teacher.class_names[int(from_uint8[1].argmax())] == "happy"  # a mirrored smile is a smile


def test_bad_crops_are_rejected_with_the_shape_in_the_message(fer_teacher):
    with pytest.raises(ValueError, match=r"\(64, 64\)"):
        fer_teacher(np.zeros((64, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match="RGB"):
        fer_teacher([np.zeros((64, 64, 4), dtype=np.uint8)])


def test_class_orders_map_onto_affectnet():
    fer_angry = torch.eye(7)[[FER_CLASS_NAMES.index("angry")]]  # (1,7) one-hot
    faceapi_surprised = torch.eye(7)[[FACEAPI_CLASS_NAMES.index("surprised")]]
    assert CLASS_NAMES[int(to_affectnet(fer_angry, FER_CLASS_NAMES).argmax())] == "anger"
    assert CLASS_NAMES[int(to_affectnet(faceapi_surprised, FACEAPI_CLASS_NAMES).argmax())] == "surprise"
    mapped = to_affectnet(torch.full((3, 7), 1 / 7), FER_CLASS_NAMES)  # (3,8)
    assert torch.all(mapped[:, CLASS_NAMES.index("contempt")] == 0)
    assert torch.allclose(mapped.sum(dim=1), torch.ones(3))
    with pytest.raises(ValueError, match="probabilities must be"):
        to_affectnet(torch.ones(2, 8), FER_CLASS_NAMES)


def test_ensemble_averages_the_mapped_teachers(fer_teacher, faceapi_teacher, crops):
    ensemble = TeacherEnsemble([fer_teacher, faceapi_teacher])
    with torch.no_grad():
        per = ensemble.per_teacher(crops)
        mean = ensemble(crops)  # (2,8)
    assert list(per) == ["fer_mini_xception", "faceapi_expression"]
    assert torch.allclose(mean, (per["fer_mini_xception"] + per["faceapi_expression"]) / 2)
    assert torch.all(mean[:, CLASS_NAMES.index("contempt")] == 0)
    assert [CLASS_NAMES[int(i)] for i in mean.argmax(dim=1)] == ["happy", "neutral"]


def test_tensorflow_same_padding_puts_the_odd_pixel_after():
    assert same_padding(112, kernel=3, stride=2) == (0, 1)
    assert same_padding(15, kernel=3, stride=2) == (1, 1)
    assert same_padding(60, kernel=1, stride=2) == (0, 0)
    assert same_padding(64, kernel=3, stride=1) == (1, 1)


def test_missing_or_foreign_weight_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.hdf5"):
        load_fer_teacher(tmp_path / "nowhere.hdf5")
    bogus = tmp_path / "bogus.hdf5"
    with h5py.File(bogus, "w") as f:
        f.attrs["something"] = 1
    with pytest.raises(ValueError, match="bogus.hdf5"):
        load_fer_teacher(bogus)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        '[{"paths": ["w.bin"], "weights": [{"name": "x", "shape": [4], "dtype": "float32"}]}]'
    )
    (tmp_path / "w.bin").write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match="too short"):
        load_faceapi_teacher(manifest)
