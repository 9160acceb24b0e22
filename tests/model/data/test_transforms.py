"""The transform factory: shapes, normalisation, determinism, and labels untouched by augmentation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from model.data import build_transform, open_dataset
from model.data.transforms import NO_AUGMENTATION, TrainTransform
from model.preprocessing import preprocess_crops
from tests.model.data.conftest import solid, write_csv, write_image


def _pattern(size: int = 80) -> np.ndarray:
    """A left/right asymmetric uint8 RGB test picture."""
    rng = np.random.default_rng(0)
    img = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    img[:, : size // 3] = (250, 10, 10)
    return img


def test_eval_transform_is_the_inference_preprocessing(config):
    crop = _pattern()
    transform = build_transform(config, train=False)

    out = transform(crop)

    assert out.shape == (3, 64, 64) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), preprocess_crops([crop], config)[0].numpy())
    np.testing.assert_array_equal(out.numpy(), transform(crop).numpy())


def test_eval_normalises_with_config_mean_and_std(config):
    out = build_transform(config, train=False)(solid(64, 64, (255, 0, 128)))

    expected = (np.float32([1.0, 0.0, 128 / 255]) - np.float32(config.mean)) / np.float32(config.std)
    np.testing.assert_allclose(out.mean(dim=(1, 2)).numpy(), expected, atol=1e-5)
    assert out.std(dim=(1, 2)).max() < 1e-5


def test_train_transform_is_seeded_by_torch_and_random_between_draws(config):
    transform = build_transform(config, train=True)
    crop = _pattern()

    torch.manual_seed(3)
    first, second = transform(crop), transform(crop)
    torch.manual_seed(3)
    again = transform(crop)

    assert first.shape == (3, 64, 64) and first.dtype == torch.float32
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not torch.equal(first, second)


def test_train_statistics_stay_near_the_normalised_input(config):
    transform = build_transform(config, train=True)
    torch.manual_seed(0)
    means = torch.stack([transform(solid(64, 64, (128, 128, 128))).mean(dim=(1, 2)) for _ in range(40)])

    expected = (128 / 255 - np.float32(config.mean)) / np.float32(config.std)
    # Brightness/contrast jitter of +-20% around mid-gray moves the mean by at most ~0.1 / std.
    assert np.abs(means.mean(0).numpy() - expected).max() < 0.15
    assert means.std(0).max() > 0.01  # colour jitter does change the picture


def test_flip_mirrors_the_image_and_keeps_valence_arousal(tmp_path, config):
    write_image(tmp_path / "face.png", _pattern(64))
    write_csv(tmp_path / "training.csv", ["path", "valence", "arousal"], [["face.png", "0.7", "-0.3"]])
    ds = open_dataset(tmp_path, "csv", "training", config, train=True)
    plain = build_transform(config, train=False)(ds.load_crop(0))
    ds.transform = TrainTransform(config, dataclasses.replace(NO_AUGMENTATION, flip_probability=1.0))

    item = ds[0]

    np.testing.assert_allclose(item["image"].numpy(), plain.flip(-1).numpy(), atol=1e-5)
    np.testing.assert_array_equal(item["valence_arousal"].numpy(), np.float32([0.7, -0.3]))


@pytest.mark.parametrize("size", [40, 200])
def test_train_transform_resizes_any_crop(config, size):
    torch.manual_seed(1)
    assert build_transform(config, train=True)(_pattern(size)).shape == (3, 64, 64)
