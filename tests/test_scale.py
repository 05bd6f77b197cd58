"""The DSST scale filter (Danelljan et al. BMVC 2014): its labels and windows, and that it finds a
known rescale of a textured target."""

import cv2
import numpy as np
import pytest

from regtrack.core.scale import (
    ScaleFilter,
    ScaleParams,
    scale_factors,
    scale_label,
    scale_limits,
    scale_model_size,
    scale_window,
)
from regtrack.demo import synthetic_sequence


def test_scale_factors_label_and_window():
    f = scale_factors(33, 1.02)
    assert f[16] == 1.0 and f[0] == pytest.approx(1.02**16) and f[-1] == pytest.approx(1.02**-16)
    assert np.all(np.diff(f) < 0)
    y = scale_label(33, 0.25)
    assert int(np.argmax(y)) == 16 and y[16] == 1.0
    sigma = 33 / np.sqrt(33) * 0.25  # dsst.m
    assert y[17] == pytest.approx(np.exp(-0.5 / sigma**2))
    w = scale_window(33)
    assert w[0] == 0 and w[16] == 1.0 and len(scale_window(32)) == 32


def test_scale_model_size_and_limits():
    assert scale_model_size((64, 32), 512) == (32, 16)  # area 2048 -> 512, aspect kept
    assert scale_model_size((10, 12), 512) == (10, 12)
    lo, hi = scale_limits((40, 40), (20, 20), (100, 200, 3), 1.02)
    assert lo == pytest.approx(1.02 ** np.ceil(np.log(5 / 40) / np.log(1.02)))
    assert hi == pytest.approx(1.02 ** np.floor(np.log(5.0) / np.log(1.02)))  # 100 px / 20 px


@pytest.mark.parametrize("true_scale", [1.08, 0.93])
def test_scale_filter_finds_a_known_rescale(true_scale):
    base = np.array([60.0, 46.0])
    centers = np.array([[160.0, 120.0]] * 2)
    frames, _ = synthetic_sequence(centers, np.stack([base, base * true_scale]))
    sf = ScaleFilter(ScaleParams())
    sf.init(frames[0], centers[0], base)
    est = sf.estimate(frames[1], centers[1])
    assert est == pytest.approx(true_scale, abs=0.021)  # within one 2 % step
    assert np.allclose(sf.size, base * est)
    sf.update(frames[1], centers[1])
    assert np.isfinite(sf.num).all() and np.isfinite(sf.den).all()


def test_scale_filter_accepts_any_feature_function():
    """HCF plugs its own features in: any batch -> N x C x h x w function."""
    frames, _ = synthetic_sequence(np.array([[160.0, 120.0]] * 2), np.array([[50.0, 40.0], [55.0, 44.0]]))

    def grey_cells(patches):
        g = np.stack([cv2.cvtColor(p, cv2.COLOR_RGB2GRAY) for p in patches]).astype(np.float32) / 255
        return g[:, None]

    sf = ScaleFilter(ScaleParams(n_scales=17, scale_step=1.03), feature=grey_cells)
    sf.init(frames[0], (160.0, 120.0), (50.0, 40.0))
    assert sf.estimate(frames[1], (160.0, 120.0)) == pytest.approx(1.1, abs=0.04)


def test_scale_pyramid_matches_per_scale_sampling():
    from regtrack.core.sampling import sample_patch
    from regtrack.core.scale import scale_pyramid

    frames, _ = synthetic_sequence(np.array([[150.0, 110.0]]), np.array([[120.0, 90.0]]))
    scales = scale_factors(33, 1.02)
    fast = scale_pyramid(frames[0], (150.3, 110.6), (120.0, 90.0), scales, (26, 19)).astype(float)
    slow = np.stack([sample_patch(frames[0], (150.3, 110.6), (120 * s, 90 * s), (26, 19)) for s in scales])
    assert fast.shape == slow.shape == (33, 19, 26, 3)
    assert np.abs(fast - slow).mean() < 4  # same content, slightly different antialiasing
    # near the border: replicated, no error
    edge = scale_pyramid(frames[0], (2.0, 3.0), (120.0, 90.0), scales, (26, 19))
    assert edge.shape == (33, 19, 26, 3)


def test_pixel_grid_pyramid_cuts_the_authors_pixels():
    """extract_scale_sample.m: floor(base * s) pixels from floor(pos) - floor(n/2) + 1 (1-based pos),
    edges repeated, then resized; a sub-pixel move of the centre leaves the patches unchanged."""
    from regtrack.core.scale import pixel_grid_pyramid

    image = np.arange(40 * 50 * 3, dtype=np.int64).reshape(40, 50, 3) % 251
    image = image.astype(np.uint8)
    # 0-based centre (10.3, 20.7) = MATLAB pos (11.3, 21.7): xs = 11 + (1:4) - 2 = 10..13 (1-based)
    same = pixel_grid_pyramid(image, (10.3, 20.7), (4.0, 5.0), np.array([1.0]), (4, 5))
    assert np.array_equal(same[0], image[19:24, 9:13])  # ys = 21 + (1:5) - 2 = 20..24 (1-based)
    moved = pixel_grid_pyramid(image, (10.9, 20.01), (4.0, 5.0), np.array([1.0]), (4, 5))
    assert np.array_equal(moved, same)
    # floor(4 * 1.5) = 6 columns, floor(5 * 1.5) = 7 rows, shrunk by area averaging
    big = pixel_grid_pyramid(image, (10.3, 20.7), (4.0, 5.0), np.array([1.5]), (3, 7))
    region = image[18:25, 8:14].astype(np.float64)
    expected = region.reshape(7, 3, 2, 3).mean(axis=2)
    assert np.abs(big[0] - expected).max() <= 1
    # at the image corner the edge pixels repeat
    corner = pixel_grid_pyramid(image, (0.0, 0.0), (4.0, 4.0), np.array([1.0]), (4, 4))
    assert np.array_equal(corner[0, 0, 0], image[0, 0]) and np.array_equal(corner[0, 1, 1], image[0, 0])


@pytest.mark.parametrize("center", [(25.4, 20.2), (1.5, 2.5), (48.0, 38.9)])
def test_pixel_grid_pyramid_scales_are_each_their_own_cut(center):
    """The pyramid (its patches sliced from one cut of the largest) equals each scale cut alone,
    inside the image and where the patches leave it (odd and even sizes: floor(n / 2) offsets)."""
    from regtrack.core.scale import pixel_grid_pyramid, scale_factors

    image = (np.random.default_rng(1).integers(0, 256, (40, 50, 3))).astype(np.uint8)
    scales = scale_factors(17, 1.05)
    pyramid = pixel_grid_pyramid(image, center, (13.0, 9.0), scales, (6, 5))
    for patch, s in zip(pyramid, scales, strict=True):
        alone = pixel_grid_pyramid(image, center, (13.0, 9.0), np.array([s]), (6, 5))[0]
        assert np.array_equal(patch, alone)


def test_scale_filter_pixel_grid_sampling_finds_a_known_rescale():
    base = np.array([60.0, 46.0])
    centers = np.array([[160.0, 120.0]] * 2)
    frames, _ = synthetic_sequence(centers, np.stack([base, base * 1.08]))
    sf = ScaleFilter(ScaleParams(sampling="pixel_grid"))
    sf.init(frames[0], centers[0], base)
    assert sf.estimate(frames[1], centers[1]) == pytest.approx(1.08, abs=0.021)
