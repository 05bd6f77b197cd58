"""Box conventions and patch sampling."""

import numpy as np
import pytest

from regtrack.core.box import center_to_otb, check_init_box, otb_to_center
from regtrack.core.sampling import pixel_grid_patch, sample_patch, sample_pyramid
from regtrack.errors import RegtrackError


def test_otb_center_round_trip_and_official_centre():
    center, size = otb_to_center([10, 20, 5, 8])
    # official toolkit centre x + (w-1)/2 in 1-based pixels, minus 1 for 0-based
    assert center == pytest.approx([10 + 2 - 1, 20 + 3.5 - 1])
    assert center_to_otb(center, size) == pytest.approx([10, 20, 5, 8])


@pytest.mark.parametrize("box,match", [([1, 1, 0, 5], "zero"), ([500, 500, 10, 10], "outside"),
                                       ([1, 2, 3], "four"), ([1, np.nan, 3, 3], "four")])
def test_bad_init_boxes_raise_one_line_errors(box, match):
    with pytest.raises(RegtrackError, match=match) as err:
        check_init_box(box, (100, 100, 3), source="gt.txt:1")
    assert "\n" not in str(err.value) and "gt.txt:1" in str(err.value)


def test_box_partly_outside_is_accepted():
    check_init_box([-5, -5, 20, 20], (100, 100, 3))


def test_sample_patch_is_centred_and_replicates_borders():
    img = np.zeros((50, 60, 3), np.uint8)
    img[20, 30] = 255  # one bright pixel at (x=30, y=20)
    patch = sample_patch(img, (30, 20), (11, 11), (11, 11))
    assert np.unravel_index(patch[..., 0].argmax(), patch.shape[:2]) == (5, 5)
    ramp = np.tile(np.arange(60, dtype=np.uint8)[None, :, None], (50, 1, 3))
    edge = sample_patch(ramp, (0, 25), (21, 21), (21, 21))
    assert (edge[:, :10, 0] == 0).all()  # left of the image: replicated column 0
    assert edge[10, 20, 0] == 10


def test_subpixel_centre_interpolates():
    ramp = np.tile(np.arange(60, dtype=np.float32)[None, :], (50, 1))
    patch = sample_patch(ramp, (30.5, 20), (5, 5), (5, 5))
    assert patch[2, 2] == pytest.approx(30.5)


def test_pyramid_scales():
    img = np.random.default_rng(0).integers(0, 255, (80, 80, 3), dtype=np.uint8)
    pyr = sample_pyramid(img, (40, 40), (20, 20), [0.5, 1.0, 2.0], (16, 16))
    assert pyr.shape == (3, 16, 16, 3)


def test_pixel_grid_patch_is_ecos_sample_patch():
    image = np.arange(60 * 80, dtype=np.float32).reshape(60, 80)
    # the rounded centre; an odd size takes the pixels around it as they are
    patch = pixel_grid_patch(image, (20.4, 30.3), (5, 5), (5, 5))
    assert np.array_equal(patch, image[28:33, 18:23])
    # an even size has its centre pixel at index n // 2 (1-based floor((n + 1) / 2) = n / 2)
    patch = pixel_grid_patch(image, (20.0, 30.0), (4, 4), (4, 4))
    assert np.array_equal(patch, image[29:33, 19:23])
    # outside the image, the edge pixels repeat (MATLAB's clamped indices)
    patch = pixel_grid_patch(image, (0.0, 0.0), (3, 3), (3, 3))
    assert np.array_equal(patch[0], [0, 0, 1]) and np.array_equal(patch[:, 0], [0, 0, 80])
    # shrinking 4x: decimated by floor(4 - 0.1) = 3 on a grid through the centre pixel (no blur),
    # then area-averaged from 13 to 10 pixels; the centre pixel's value survives nearby
    image = np.zeros((200, 200), np.float32)
    image[100, 100] = 9.0
    patch = pixel_grid_patch(image, (100.0, 100.0), (40, 40), (10, 10))
    assert patch.shape == (10, 10) and patch.max() > 0 and abs(np.argmax(patch.max(0)) - 4.5) <= 1
    moved = pixel_grid_patch(image, (101.0, 100.0), (40, 40), (10, 10))
    assert moved.max() == 0  # the grid through x = 101 misses the pixel at x = 100: decimation, no blur
