"""Handcrafted features: fHOG against a plain NumPy transcription of Piotr Dollar's fhog
(gradientMex.cpp: gradMag, gradHist softBin=-1, hogNormMatrix, hogChannels), its invariants,
grey and colour names."""

import numpy as np
import pytest

from regtrack.errors import RegtrackError
from regtrack.features.handcrafted import ColorNames, Concat, FHog, Grey, fhog, rgb_to_gray


def _reference_fhog(img: np.ndarray, b: int) -> np.ndarray:
    """Slow, direct NumPy fHOG (31 channels), written from the toolbox's C code."""
    img = img.astype(np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    h, w, _ = img.shape
    gx = np.empty_like(img)
    gy = np.empty_like(img)
    gx[:, 1:-1] = (img[:, 2:] - img[:, :-2]) / 2
    gx[:, 0], gx[:, -1] = img[:, 1] - img[:, 0], img[:, -1] - img[:, -2]
    gy[1:-1] = (img[2:] - img[:-2]) / 2
    gy[0], gy[-1] = img[1] - img[0], img[-1] - img[-2]
    m2 = gx**2 + gy**2
    best = np.argmax(m2, axis=2)  # first channel wins ties, as the strict '>' of gradMag
    pick = np.take_along_axis
    gx, gy = pick(gx, best[..., None], 2)[..., 0], pick(gy, best[..., None], 2)[..., 0]
    mag = np.sqrt(gx**2 + gy**2) / b / b
    ori = np.mod(np.arctan2(gy, gx), 2 * np.pi)
    obin = np.floor(ori * 18 / (2 * np.pi) + 0.5).astype(int) % 18
    hb, wb = h // b, w // b
    hist = np.zeros((18, hb, wb))
    for y in range(hb * b):
        yb = (y + 0.5) / b - 0.5
        y0 = int(np.floor(yb))
        for x in range(wb * b):
            xb = (x + 0.5) / b - 0.5
            x0 = int(np.floor(xb))
            for yy, wy in ((y0, 1 - (yb - y0)), (y0 + 1, yb - y0)):
                for xx, wx in ((x0, 1 - (xb - x0)), (x0 + 1, xb - x0)):
                    if 0 <= yy < hb and 0 <= xx < wb:
                        hist[obin[y, x], yy, xx] += wy * wx * mag[y, x]
    hist[:, 0, :] *= 8 / 7
    hist[:, -1, :] *= 8 / 7
    hist[:, :, 0] *= 8 / 7
    hist[:, :, -1] *= 8 / 7
    hist2 = hist[:9] + hist[9:]
    energy = (hist2**2).sum(0)
    block = 1 / np.sqrt(energy[:-1, :-1] + energy[1:, :-1] + energy[:-1, 1:] + energy[1:, 1:]
                        + 1e-4 / 4 / b**4)
    nrm = np.pad(block, 1, mode="edge")  # (hb+1) x (wb+1): block norms, border replicated
    out = np.zeros((31, hb, wb))
    for y in range(hb):
        for x in range(wb):
            ns = [nrm[y + 1, x + 1], nrm[y, x + 1], nrm[y + 1, x], nrm[y, x]]
            t1 = np.minimum(hist[:, y, x][:, None] * np.array(ns)[None], 0.2)
            t2 = np.minimum(hist2[:, y, x][:, None] * np.array(ns)[None], 0.2)
            out[:18, y, x] = 0.5 * t1.sum(1)
            out[18:27, y, x] = 0.5 * t2.sum(1)
            out[27:31, y, x] = 0.2357 * t1.sum(0)
    return out


@pytest.fixture(scope="module")
def texture():
    rng = np.random.default_rng(3)
    import cv2

    small = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (40, 32), interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("cell", [4, 1, 3])
def test_fhog_matches_the_reference_transcription(texture, cell):
    img = texture[:24, :28].astype(np.float32)
    np.testing.assert_allclose(fhog(img, cell), _reference_fhog(img, cell), atol=2e-4)


def test_fhog_shape_dtype_range_and_grey_input(texture):
    f = FHog(4)(texture)
    assert f.shape == (31, 8, 10) and f.dtype == np.float32
    assert f.min() >= 0 and f[:27].max() <= 0.4 + 1e-6  # 4 clipped normalisations x 0.5 x 0.2
    g = FHog(4, gray=True)(texture)
    np.testing.assert_allclose(g, FHog(4)(rgb_to_gray(texture)), atol=1e-6)
    batch = FHog(4)(np.stack([texture, texture[::-1].copy()]))
    assert batch.shape == (2, 31, 8, 10)
    np.testing.assert_allclose(batch[0], f, atol=1e-6)


def test_fhog_of_a_flat_patch_is_zero_and_contrast_is_normalised(texture):
    assert not FHog(4)(np.full((32, 32, 3), 77, np.uint8)).any()
    # block normalisation: scaling the contrast leaves the feature (almost) unchanged
    low = (texture.astype(np.float32) * 0.5).astype(np.float32)
    np.testing.assert_allclose(fhog(low, 4), fhog(texture.astype(np.float32) * 0.5, 4), atol=1e-6)
    img = texture.astype(np.float32)
    np.testing.assert_allclose(fhog(img * 0.25, 4), fhog(img, 4), atol=1e-3)


def test_fhog_rotating_by_180_degrees_shifts_the_signed_bins_by_half_a_turn(texture):
    img = texture[:32, :40].astype(np.float32)
    f, r = fhog(img, 4), fhog(img[::-1, ::-1].copy(), 4)
    r = r[:, ::-1, ::-1]
    agree = np.isclose(np.roll(f[:18], 9, axis=0), r[:18], atol=1e-4).mean()
    assert agree > 0.97  # only gradients exactly on a bin boundary may round the other way
    assert np.isclose(f[18:27], r[18:27], atol=1e-4).mean() > 0.97


def test_grey_feature_centres_the_intensity(texture):
    g = Grey(1)(texture)
    assert g.shape == (1, 32, 40) and abs(float(g.mean())) < 1e-5
    half = Grey(1, center="half")(np.full((4, 4), 255, np.uint8))
    np.testing.assert_allclose(half, 0.5)
    assert Grey(4)(texture).shape == (1, 8, 10)


def test_concat_stacks_channels(texture):
    f = Concat([Grey(1, center="half"), FHog(1, scale=1.0, channels=27)])(texture)
    assert f.shape == (28, 32, 40)


def test_colornames_lookup_from_the_public_table(shared):
    cn = ColorNames(shared / "data" / "features" / "w2crs.mat")
    red = np.zeros((4, 8, 3), np.uint8)
    red[..., 0] = 255
    out = cn(red)
    assert out.shape == (10, 4, 8)
    np.testing.assert_allclose(out[:, 0, 0], cn.table[31])  # bin r//8 = 31, g = b = 0
    assert ColorNames(shared / "data" / "features" / "w2crs.mat", cell_size=4)(red).shape == (10, 1, 2)


def test_colornames_without_the_table_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("REGTRACK_COLORNAMES", raising=False)
    with pytest.raises(RegtrackError, match="REGTRACK_COLORNAMES"):
        ColorNames()
    with pytest.raises(RegtrackError, match="no such"):
        ColorNames(tmp_path / "missing.mat")
