"""Square face crops: margin, border padding, resizing, batches."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.cropping import crop_faces, crop_square, square_region


@pytest.fixture
def ramp() -> np.ndarray:
    """A 100x120 frame whose pixels encode their coordinates (R = x, G = y, B = 200)."""
    yy, xx = np.mgrid[0:100, 0:120]
    return np.dstack([xx, yy, np.full_like(xx, 200)]).astype(np.uint8)


def test_square_region_adds_the_margin_around_the_longer_side():
    assert square_region((40, 30, 20, 10), 0.25) == (35, 20, 30, 30)
    assert square_region((40, 30, 20, 20), 0.0) == (40, 30, 20, 20)


def test_crop_inside_the_frame_is_the_frame_slice(ramp):
    crop = crop_square(ramp, (40, 30, 20, 20), 0.25)
    assert crop.shape == (30, 30, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, ramp[25:55, 35:65])


def test_crop_past_the_top_left_corner_is_padded_black(ramp):
    crop = crop_square(ramp, (0, 0, 20, 20), 0.5)  # square (-10, -10, 40, 40)
    assert crop.shape == (40, 40, 3)
    assert not crop[:10].any() and not crop[:, :10].any()
    np.testing.assert_array_equal(crop[10:, 10:], ramp[:30, :30])


def test_replicate_padding_repeats_the_edge_pixels(ramp):
    crop = crop_square(ramp, (100, 80, 20, 20), 0.5, pad="replicate")  # square (90, 70, 40, 40)
    np.testing.assert_array_equal(crop[:30, :30], ramp[70:100, 90:120])
    np.testing.assert_array_equal(crop[35, 35], ramp[99, 119])  # beyond the bottom-right corner
    np.testing.assert_array_equal(crop[5, 35], ramp[75, 119])  # beyond the right edge


def test_crops_keep_native_size_and_box_order(ramp):
    crops = crop_faces(ramp, [(0, 0, 20, 20), (60, 40, 40, 40)], 0.0)
    assert [c.shape for c in crops] == [(20, 20, 3), (40, 40, 3)]
    assert crops[0][..., 0].mean() < crops[1][..., 0].mean()  # the left box has smaller x (red)


def test_bad_inputs_are_rejected(ramp):
    with pytest.raises(ValueError, match="positive width"):
        crop_square(ramp, (10, 10, 0, 5), 0.25)
    with pytest.raises(ValueError, match="margin"):
        crop_square(ramp, (10, 10, 5, 5), -0.1)
    with pytest.raises(ValueError, match="padding"):
        crop_square(ramp, (10, 10, 5, 5), 0.1, pad="mirror")
    with pytest.raises(ValueError, match="uint8 RGB"):
        crop_square(ramp[..., 0], (10, 10, 5, 5), 0.1)
