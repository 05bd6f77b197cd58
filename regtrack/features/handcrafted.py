"""Handcrafted features: grey intensity, fHOG (31 channels), colour names.

* :class:`FHog` is Felzenszwalb et al.'s HOG variant (PAMI 2010, "Object detection with
  discriminatively trained part-based models", sec. 6.3) exactly as Piotr Dollar's toolbox
  computes it (``fhog.m`` / ``gradientMex.cpp``: ``gradMag``, ``gradHist`` with ``softBin=-1``,
  ``hogNormMatrix``, ``hogChannels``), which is what KCF (Henriques et al., TPAMI 2015) and
  DSST (Danelljan et al., BMVC 2014) call. Channels: 18 contrast-sensitive orientations,
  9 contrast-insensitive, 4 texture (gradient energy) — the 32nd, all-zero truncation channel of
  ``fhog.m`` is dropped, as KCF and DSST drop it.
* :class:`Grey`: intensity in ``[-0.5, 0.5]`` (KCF's ``gray`` feature, mean-subtracted; DSST's
  first channel, ``x/255 - 0.5``).
* :class:`ColorNames`: van de Weijer et al.'s 11 colour names reduced to 10 dimensions (Danelljan
  et al., CVPR 2014), a lookup in the public ``w2crs`` table, which regtrack does not ship: pass
  its path (or set ``REGTRACK_COLORNAMES``).

All follow :class:`regtrack.features.base.Feature`: a patch ``h x w x 3`` (or a batch
``N x h x w x 3``; grey ``h x w`` is accepted too) -> float32 ``C x h//cell x w//cell``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numba
import numpy as np

from regtrack.errors import RegtrackError
from regtrack.features.base import Feature

_N_ORIENT = 9          # contrast-insensitive orientations; 2x as many contrast-sensitive
_CLIP = 0.2            # fhog.m's clip
_TEXTURE_WEIGHT = 0.2357  # hogChannels' r = 1/sqrt(18), sums the 18 orientations per block


def rgb_to_gray(image: np.ndarray) -> np.ndarray:
    """RGB (or RGBA) uint8 -> grey uint8 with the ITU-R 601 weights MATLAB's ``rgb2gray`` uses;
    a grey image is returned as is. Works on a batch ``N x h x w x 3`` too."""
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        return image
    if image.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    return np.stack([rgb_to_gray(im) for im in image])


@numba.njit(cache=True, nogil=True, fastmath=True)
def _atan2_positive(y: float, x: float) -> float:  # pragma: no cover - jit
    """``atan2(y, x)`` in ``[0, 2 pi)`` by a 7th-order minimax polynomial (error < 1e-5 rad,
    finer than the 1e-4 acos table of ``gradMag``)."""
    ax, ay = abs(x), abs(y)
    mx, mn = max(ax, ay), min(ax, ay)
    if mx == 0.0:
        return 0.0
    a = mn / mx
    s = a * a
    r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a
    if ay > ax:
        r = 0.5 * math.pi - r
    if x < 0.0:
        r = math.pi - r
    if y < 0.0:
        r = 2.0 * math.pi - r
    return r


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _fhog_single(img: np.ndarray, binsize: int, out: np.ndarray) -> None:  # pragma: no cover - jit
    """fHOG of one ``h x w x d`` float32 image into ``out`` (``31 x hb x wb``, zeroed)."""
    h, w, d = img.shape
    hb, wb = h // binsize, w // binsize
    if hb == 0 or wb == 0:
        return
    no2 = 2 * _N_ORIENT
    h0, w0 = hb * binsize, wb * binsize
    s_inv = 1.0 / binsize
    norm = s_inv * s_inv
    omult = no2 / (2.0 * math.pi)
    hist = np.zeros((hb, wb, no2), np.float32)  # cell-major: the 4 bilinear writes stay close
    mags = np.empty(w0, np.float32)
    bins = np.empty(w0, np.int64)
    # bilinear weights of each column over the cell columns (gradHist, softBin = -1)
    xb0s = np.empty(w0, np.int64)
    xds = np.empty(w0, np.float32)
    for x in range(w0):
        xb = (x + 0.5) * s_inv - 0.5
        xb0s[x] = int(math.floor(xb))
        xds[x] = xb - xb0s[x]
    for y in range(h0):
        # gradMag: central differences inside, one-sided at the border; strongest channel
        yp, yn, ry = y - 1, y + 1, 0.5
        if y == 0:
            yp, ry = 0, 1.0
        if y == h - 1:
            yn, ry = h - 1, 1.0
        if h == 1:
            ry = 0.0
        for x in range(w0):
            xp, xn, rx = x - 1, x + 1, 0.5
            if x == 0:
                xp, rx = 0, 1.0
            if x == w - 1:
                xn, rx = w - 1, 1.0
            if w == 1:
                rx = 0.0
            best, bgx, bgy = -1.0, 0.0, 0.0
            for c in range(d):
                gx = (img[y, xn, c] - img[y, xp, c]) * rx
                gy = (img[yn, x, c] - img[yp, x, c]) * ry
                m2 = gx * gx + gy * gy
                if m2 > best:
                    best, bgx, bgy = m2, gx, gy
            mags[x] = math.sqrt(best) * norm
            o = int(_atan2_positive(bgy, bgx) * omult + 0.5)  # gradQuantize: nearest of 18 bins
            bins[x] = 0 if o >= no2 else o
        yb = (y + 0.5) * s_inv - 0.5
        yb0 = int(math.floor(yb))
        yd = yb - yb0
        top, bottom = yb0 >= 0, yb0 + 1 < hb
        for x in range(w0):
            m = mags[x]
            if m == 0.0:
                continue
            o, xb0, xd = bins[x], xb0s[x], xds[x]
            if top:
                if xb0 >= 0:
                    hist[yb0, xb0, o] += (1.0 - xd) * (1.0 - yd) * m
                if xb0 + 1 < wb:
                    hist[yb0, xb0 + 1, o] += xd * (1.0 - yd) * m
            if bottom:
                if xb0 >= 0:
                    hist[yb0 + 1, xb0, o] += (1.0 - xd) * yd * m
                if xb0 + 1 < wb:
                    hist[yb0 + 1, xb0 + 1, o] += xd * yd * m
    # boundary cells only got 7/8 of an interior cell's weight (corners twice)
    edge = np.float32(8.0 / 7.0)
    for x in range(wb):
        hist[0, x, :] *= edge
        hist[hb - 1, x, :] *= edge
    for y in range(hb):
        hist[y, 0, :] *= edge
        hist[y, wb - 1, :] *= edge
    # contrast-insensitive histogram and the cell energies
    hist2 = np.empty((hb, wb, _N_ORIENT), np.float32)
    energy = np.zeros((hb, wb), np.float32)
    for y in range(hb):
        for x in range(wb):
            e = 0.0
            for o in range(_N_ORIENT):
                v = hist[y, x, o] + hist[y, x, o + _N_ORIENT]
                hist2[y, x, o] = v
                e += v * v
            energy[y, x] = e
    # hogNormMatrix: 1/sqrt of each 2x2 block's energy, stored at the block's bottom-right
    # corner of a (hb+1) x (wb+1) grid whose border replicates the nearest block
    eps = 1e-4 / 4.0 / binsize / binsize / binsize / binsize
    nrm = np.zeros((hb + 1, wb + 1), np.float32)
    if hb > 1 and wb > 1:
        for y in range(hb - 1):
            for x in range(wb - 1):
                nrm[y + 1, x + 1] = 1.0 / math.sqrt(energy[y, x] + energy[y + 1, x] + energy[y, x + 1]
                                                    + energy[y + 1, x + 1] + eps)
        for y in range(1, hb):
            nrm[y, 0] = nrm[y, 1]
            nrm[y, wb] = nrm[y, wb - 1]
        for x in range(wb + 1):
            nrm[0, x] = nrm[1, x]
            nrm[hb, x] = nrm[hb - 1, x]
    # hogChannels: clip each of the 4 normalisations at 0.2, then sum. Channel by channel over
    # contiguous rows, so that the compiler vectorises the inner loop.
    tex = no2 + _N_ORIENT
    plane = np.empty((hb, wb), np.float32)
    for o in range(no2 + _N_ORIENT):
        for y in range(hb):
            for x in range(wb):
                plane[y, x] = hist[y, x, o] if o < no2 else hist2[y, x, o - no2]
        for y in range(hb):
            for x in range(wb):
                r = plane[y, x]
                t0 = min(r * nrm[y + 1, x + 1], _CLIP)
                t1 = min(r * nrm[y, x + 1], _CLIP)
                t2 = min(r * nrm[y + 1, x], _CLIP)
                t3 = min(r * nrm[y, x], _CLIP)
                out[o, y, x] = 0.5 * (t0 + t1 + t2 + t3)
                if o < no2:
                    out[tex + 0, y, x] += _TEXTURE_WEIGHT * t0
                    out[tex + 1, y, x] += _TEXTURE_WEIGHT * t1
                    out[tex + 2, y, x] += _TEXTURE_WEIGHT * t2
                    out[tex + 3, y, x] += _TEXTURE_WEIGHT * t3


@numba.njit(cache=True, nogil=True)
def _fhog_batch(imgs: np.ndarray, binsize: int, out: np.ndarray) -> None:  # pragma: no cover - jit
    for i in range(imgs.shape[0]):
        _fhog_single(imgs[i], binsize, out[i])


def fhog(image: np.ndarray, cell_size: int = 4) -> np.ndarray:
    """fHOG of an image ``h x w [x d]`` (any dtype; each channel's gradient is taken and the
    strongest kept per pixel, as ``gradMag``) or a batch ``N x h x w x d``: float32
    ``31 x h//cell x w//cell`` (``N x 31 x ...``). Intensities are used as given (KCF divides
    by 255 first; the normalisation makes the result nearly scale-free)."""
    arr = np.asarray(image)
    batched = arr.ndim == 4
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if not batched:
        arr = arr[None]
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    n, h, w = arr.shape[:3]
    out = np.zeros((n, 3 * _N_ORIENT + 4, h // cell_size, w // cell_size), np.float32)
    _fhog_batch(arr, int(cell_size), out)
    return out if batched else out[0]


def _as_batch(patch: np.ndarray) -> tuple[np.ndarray, bool]:
    """``h x w``, ``h x w x C`` or ``N x h x w x C`` -> ``N x h x w x C`` and whether it was a batch."""
    arr = np.asarray(patch)
    if arr.ndim == 2:
        return arr[None, :, :, None], False
    if arr.ndim == 3:
        return arr[None], False
    return arr, True


class FHog(Feature):
    """fHOG, 31 channels at ``cell_size`` (default 4, KCF's). ``gray=True`` computes it on the
    grey image, as KCF does (its ``tracker.m`` converts every frame with ``rgb2gray``); otherwise
    on all colour channels (DSST). Intensities are multiplied by ``scale``: 1/255 as KCF's
    ``get_features.m``, 1 as DSST's ``get_feature_map.m`` (only the tiny normalisation epsilon
    tells them apart). ``channels`` < 31 keeps the first ones (DSST's translation filter keeps the
    27 orientation channels)."""

    def __init__(self, cell_size: int = 4, gray: bool = False, scale: float = 1.0 / 255.0,
                 channels: int = 31) -> None:
        self.cell_size = int(cell_size)
        self.gray = gray
        self.scale = float(scale)
        self.channels = int(channels)

    def __call__(self, patch: np.ndarray) -> np.ndarray:
        arr, batched = _as_batch(patch)
        if self.gray and arr.shape[-1] >= 3:
            arr = np.stack([rgb_to_gray(p) for p in arr])[..., None]
        elif arr.shape[-1] == 4:
            arr = arr[..., :3]
        out = fhog(arr.astype(np.float32) * np.float32(self.scale), self.cell_size)
        if self.channels < out.shape[1]:
            out = out[:, : self.channels]
        return out if batched else out[0]


class Grey(Feature):
    """Grey intensity ``x / 255`` minus ``center``: ``'mean'`` (KCF's gray feature subtracts the
    patch mean) or ``'half'`` (DSST's ``x/255 - 0.5``). One channel at ``cell_size`` 1, or
    averaged over ``cell_size`` x ``cell_size`` cells."""

    channels = 1

    def __init__(self, cell_size: int = 1, center: str = "mean") -> None:
        if center not in ("mean", "half"):
            raise ValueError("center must be 'mean' or 'half'")
        self.cell_size = int(cell_size)
        self.center = center

    def __call__(self, patch: np.ndarray) -> np.ndarray:
        arr, batched = _as_batch(patch)
        g = np.stack([rgb_to_gray(p if p.shape[-1] != 1 else p[..., 0]) for p in arr]).astype(np.float32)
        g = g.reshape(g.shape[0], g.shape[1], g.shape[2]) / 255.0
        if self.center == "mean":
            g -= g.mean(axis=(1, 2), keepdims=True)
        else:
            g -= 0.5
        out = _cell_average(g[:, None], self.cell_size)
        return out if batched else out[0]


def _cell_average(x: np.ndarray, cell: int) -> np.ndarray:
    """Average ``N x C x h x w`` over non-overlapping ``cell x cell`` blocks (dropping the rest)."""
    if cell == 1:
        return np.ascontiguousarray(x, dtype=np.float32)
    n, c, h, w = x.shape
    hb, wb = h // cell, w // cell
    x = x[:, :, : hb * cell, : wb * cell].reshape(n, c, hb, cell, wb, cell)
    return x.mean(axis=(3, 5)).astype(np.float32)


COLORNAMES_ENV = "REGTRACK_COLORNAMES"


def load_colornames_table(path: str | Path | None = None) -> np.ndarray:
    """The ``32768 x 10`` colour-names table from ``w2crs.mat`` (MATLAB v7.3 / HDF5, dataset
    ``w2crs``; Danelljan et al. CVPR 2014). ``path`` defaults to ``$REGTRACK_COLORNAMES``."""
    path = path or os.environ.get(COLORNAMES_ENV)
    if not path:
        raise RegtrackError("the colour-names feature needs the w2crs.mat table (not shipped with regtrack)",
                            fix=f"pass its path or set {COLORNAMES_ENV}=/path/to/w2crs.mat "
                                "(it is in the CN, DSST-CN and ECO repositories)")
    p = Path(path)
    if not p.is_file():
        raise RegtrackError("no such colour-names table", path=p, fix=f"check the path or {COLORNAMES_ENV}")
    try:
        import h5py

        with h5py.File(p, "r") as f:
            table = np.asarray(f["w2crs"], dtype=np.float32)
    except (OSError, KeyError) as err:
        raise RegtrackError(f"cannot read the colour-names table ({err})", path=p,
                            fix="expected a MATLAB v7.3 file with a 'w2crs' dataset") from None
    if table.shape == (10, 32768):
        table = table.T
    if table.shape != (32768, 10):
        raise RegtrackError(f"colour-names table has shape {table.shape}, not 32768 x 10", path=p)
    return np.ascontiguousarray(table)


class ColorNames(Feature):
    """Colour names, 10 channels: each pixel's RGB bin ``r//8 + 32 g//8 + 1024 b//8`` looked up
    in the ``w2crs`` table; averaged over ``cell_size`` cells. Grey patches are replicated to RGB."""

    channels = 10

    def __init__(self, table_path: str | Path | None = None, cell_size: int = 1) -> None:
        self.table = load_colornames_table(table_path)
        self.cell_size = int(cell_size)

    def __call__(self, patch: np.ndarray) -> np.ndarray:
        arr, batched = _as_batch(patch)
        if arr.shape[-1] == 1:
            arr = np.repeat(arr, 3, axis=-1)
        arr = arr[..., :3].astype(np.int64) // 8
        index = arr[..., 0] + 32 * arr[..., 1] + 1024 * arr[..., 2]
        out = _cell_average(np.moveaxis(self.table[index], -1, 1), self.cell_size)
        return out if batched else out[0]


class Concat(Feature):
    """Several features of one cell size stacked along the channels (DSST's translation feature
    is ``Concat([Grey(1, 'half'), FHog(1, scale=1, channels=27)])``, ``get_feature_map.m``)."""

    def __init__(self, features: list[Feature]) -> None:
        if not features or len({f.cell_size for f in features}) != 1:
            raise ValueError("Concat needs at least one feature, all of one cell size")
        self.features = list(features)
        self.cell_size = features[0].cell_size
        self.channels = sum(f.channels for f in features)

    def __call__(self, patch: np.ndarray) -> np.ndarray:
        maps = [f(patch) for f in self.features]
        return np.concatenate(maps, axis=-3)
