"""Square face crops with margin and black padding, and the box-inside-image rule."""

from __future__ import annotations

import numpy as np

from model.data.cropping import box_inside_image, crop_square


def test_crop_adds_margin_squares_and_pads_with_black():
    img = np.full((100, 100, 3), 200, np.uint8)

    crop = crop_square(img, (0, 10, 40, 20), margin=0.25)  # side 40 * 1.5 = 60 around centre (20, 20)

    assert crop.shape == (60, 60, 3)
    # the window spans x, y = -10..49: its first 10 columns and rows lie outside the image
    assert (crop[:, :10] == 0).all() and (crop[:10] == 0).all() and (crop[10:, 10:] == 200).all()


def test_crop_without_box_is_the_whole_image_padded_square():
    img = np.full((30, 50, 3), 7, np.uint8)

    crop = crop_square(img, None, margin=0.5)

    assert crop.shape == (50, 50, 3)
    assert (crop[10:40] == 7).all() and (crop[:10] == 0).all() and (crop[40:] == 0).all()


def test_box_inside_needs_half_its_area_in_the_image():
    assert box_inside_image((90, 0, 20, 20), 100, 100)  # exactly half inside
    assert not box_inside_image((95, 0, 20, 20), 100, 100)
    assert not box_inside_image((500, 500, 20, 20), 100, 100)
    assert not box_inside_image((10, 10, 0, 20), 100, 100)
