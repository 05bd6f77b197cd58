"""Feature-map zooming (the scale pyramid on features; UDT)."""

from __future__ import annotations

import numpy as np

from regtrack.core.sampling import zoom_feature_maps


def _ramp(m: int, c: int = 3) -> np.ndarray:
    """A map linear in row and column (bilinear sampling reproduces it exactly)."""
    y, x = np.mgrid[0:m, 0:m].astype(np.float32)
    return np.stack([2.0 * y + 0.5 * x + k for k in range(c)], axis=-1)[None]


def test_zoom_feature_maps_is_a_centred_zoom_times_the_window():
    m, n = 21, 17
    window = np.random.default_rng(0).random((n, n)).astype(np.float32) + 0.5
    maps = _ramp(m)
    out = zoom_feature_maps(np.repeat(maps, 2, axis=0), [1.0, 1.1], np.array([[0, 0], [2, -1]]), n, window)
    assert out.shape == (2, n, n, 3) and out.dtype == np.float32
    c0, h = (m - 1) / 2, (n - 1) / 2
    u = np.arange(n, dtype=np.float64)
    for i, (s, (dy, dx)) in enumerate([(1.0, (0, 0)), (1.1, (2, -1))]):
        yy = np.clip(c0 + (u[:, None] + dy - h) * s, 0, m - 1)  # past the edge: the edge value
        xx = np.clip(c0 + (u[None, :] + dx - h) * s, 0, m - 1)
        for k in range(3):
            expected = (2.0 * yy + 0.5 * xx + k) * window
            np.testing.assert_allclose(out[i, :, :, k], expected, rtol=1e-5, atol=1e-4)
    # zoom 1, no offset: the central n x n block, exactly
    k0 = (m - n) // 2
    np.testing.assert_allclose(out[0], maps[0, k0 : k0 + n, k0 : k0 + n] * window[..., None], rtol=1e-6)


def test_zoom_feature_maps_replicates_the_edge():
    maps = _ramp(9, 1)
    out = zoom_feature_maps(maps, [1.0], np.array([[-20, 0]]), 9, np.ones((9, 9), np.float32))
    np.testing.assert_array_equal(out[0, :, :, 0], np.broadcast_to(maps[0, 0, :, 0], (9, 9)))
