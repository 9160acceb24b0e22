"""Image size probes from file headers, EXIF orientation included, and decoding."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from model.data.image_io import decode_rgb, probe_size
from tests.model.data.conftest import solid, write_image


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".tiff"])
def test_probe_size_matches_the_decoded_image(tmp_path, suffix):
    path = write_image(tmp_path / f"a{suffix}", solid(30, 70, (1, 2, 3)))

    assert probe_size(path) == (70, 30)
    assert decode_rgb(path).shape == (30, 70, 3)


def test_jpeg_exif_rotation_swaps_the_probed_sides(tmp_path):
    data = write_image(tmp_path / "plain.jpg", solid(30, 70, (9, 9, 9))).read_bytes()
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + b"\0" * 4
    app1 = b"Exif\x00\x00" + tiff
    rotated = tmp_path / "rotated.jpg"
    rotated.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])

    assert probe_size(rotated) == (30, 70)
    assert decode_rgb(rotated).shape == (70, 30, 3)


def test_non_images_probe_and_decode_to_none(tmp_path):
    text = tmp_path / "x.jpg"
    text.write_bytes(b"hello" * 20)
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")

    assert probe_size(text) is None and decode_rgb(text) is None
    assert probe_size(empty) is None and decode_rgb(empty) is None
    assert probe_size(tmp_path / "absent.png") is None


def test_decode_returns_rgb_order(tmp_path):
    path = write_image(tmp_path / "c.png", solid(4, 4, (255, 0, 0)))

    assert decode_rgb(path)[0, 0].tolist() == [255, 0, 0] and decode_rgb(path).dtype == np.uint8
