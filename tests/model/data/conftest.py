"""Helpers for the dataset tests: writing small images and CSV files into tmp_path."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from model.config import ModelConfig


def write_image(path: Path, rgb: np.ndarray) -> Path:
    """Write uint8 RGB `rgb` to `path` (format from the suffix), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    data.tofile(str(path))
    return path


def solid(height: int, width: int, colour: tuple[int, int, int]) -> np.ndarray:
    """A uint8 RGB image of one colour."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = colour
    return img


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """Write a CSV with `header` and `rows` (rows may be shorter or longer than the header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def config() -> ModelConfig:
    """A small-input config without crop margin, so a square box crop is exactly the box."""
    return ModelConfig(backbone="resnet18", input_size=64, crop_margin=0.0)
