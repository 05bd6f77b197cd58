"""Patch sampling: a sub-pixel centre, a size in image pixels, resized to a fixed output size.

Every tracker cuts its search and template patches here. Sampling is one affine warp
(OpenCV ``warpAffine``, bilinear) with border replication where the patch leaves the image,
as MATLAB trackers do with their clamped ``get_subwindow`` indices.
Centres are 0-based pixel coordinates (:mod:`regtrack.core.box`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numba
import numpy as np

from regtrack.errors import RegtrackError

MAX_PATCH_PIXELS = 4096 * 4096
"""The largest patch any tracker may cut (48 MiB as RGB). A search window beyond it comes from a
box or parameters far outside their useful range, and would take gigabytes a frame."""


def sample_patch(image: np.ndarray, center: Sequence[float], size: Sequence[float],
                 out_size: Sequence[int] | None = None, *, antialias: bool = True) -> np.ndarray:
    """Cut the ``size = (w, h)`` region centred on ``center = (cx, cy)`` and resize it to
    ``out_size = (W, H)`` (default: the size rounded). Output pixel ``u`` maps to image
    ``x = cx + (u - (W-1)/2) * w / W``, so the patch centre is the target centre exactly.

    With ``antialias``, a patch shrunk by more than 2x is blurred first, as MATLAB's
    ``imresize`` does, so that fine texture does not alias into the features.
    """
    w, h = float(size[0]), float(size[1])
    if not (np.isfinite(w) and np.isfinite(h) and w > 0 and h > 0 and np.all(np.isfinite(center))):
        raise RegtrackError(f"cannot cut a patch of size {w:g}x{h:g} at {tuple(center)}",
                            fix="the tracker's state is no longer finite; check its parameters")
    if out_size is None:
        out_size = (max(1, round(w)), max(1, round(h)))
    W, H = int(out_size[0]), int(out_size[1])
    if W * H > MAX_PATCH_PIXELS:
        raise RegtrackError(f"the search window would be a {W}x{H} patch (over {MAX_PATCH_PIXELS // 2**20} "
                            "megapixels, gigabytes a frame)",
                            fix="give a box inside the frame and keep padding and scale parameters in their "
                            "range (regtrack track --list)")
    sx, sy = w / W, h / H
    src = image
    if antialias and max(sx, sy) > 2.0:
        # Gaussian prefilter of the source region only: sigma ~ (factor - 1) / 2 (as imresize's
        # antialiasing kernel widens with the factor).
        x0 = int(np.floor(center[0] - w / 2)) - 4
        y0 = int(np.floor(center[1] - h / 2)) - 4
        x1, y1 = int(np.ceil(center[0] + w / 2)) + 5, int(np.ceil(center[1] + h / 2)) + 5
        ih, iw = image.shape[:2]
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, iw), min(y1, ih)
        if cx1 > cx0 and cy1 > cy0:
            region = cv2.GaussianBlur(image[cy0:cy1, cx0:cx1], (0, 0),
                                      sigmaX=max((sx - 1) / 2, 0.1), sigmaY=max((sy - 1) / 2, 0.1))
            return _warp(region, (center[0] - cx0, center[1] - cy0), sx, sy, W, H)
    return _warp(src, center, sx, sy, W, H)


def pixel_grid_patch(image: np.ndarray, center: Sequence[float], size: Sequence[float],
                     out_size: Sequence[int]) -> np.ndarray:
    """ECO's ``sample_patch.m``: the patch on the image's own pixel grid, then resized. The centre
    is rounded to a pixel; when the patch shrinks by 2x or more the image is first decimated by
    the integer factor ``df = floor(shrink - 0.1)`` on a grid through that pixel (no blur); the
    ``round(size)`` pixels around it (the centre pixel at index ``floor((n + 1) / 2)`` of ``n``,
    1-based; edge pixels repeated outside the image) are resized to ``out_size = (W, H)`` with
    area averaging when shrinking and bilinear when enlarging (``mexResize(.., 'auto')``).

    Unlike :func:`sample_patch`, every frame sees the same sampling filter, whatever the
    sub-pixel phase of the centre; the caller measures shifts from ``round(center)``.
    """
    W, H = int(out_size[0]), int(out_size[1])
    pos = np.floor(np.asarray(center, np.float64) + 0.5).astype(np.int64)  # round(), x then y
    sz = np.asarray(size, np.float64)
    df = max(int(np.floor(min(sz[0] / W, sz[1] / H) - 0.1)), 1)
    if df > 1:
        offset = pos % df
        image = image[offset[1]::df, offset[0]::df]
        pos = (pos - offset) // df
        sz = sz / df
    n = np.maximum(np.floor(sz + 0.5), 2).astype(np.int64)
    ih, iw = image.shape[:2]
    xs = np.clip(pos[0] + np.arange(n[0]) + 1 - (n[0] + 1) // 2, 0, iw - 1)
    ys = np.clip(pos[1] + np.arange(n[1]) + 1 - (n[1] + 1) // 2, 0, ih - 1)
    patch = image[ys[:, None], xs[None, :]]
    if (n[0], n[1]) == (W, H):
        return np.ascontiguousarray(patch)
    shrink = n[0] * n[1] > W * H
    return cv2.resize(patch, (W, H), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _warp(image: np.ndarray, center: Sequence[float], sx: float, sy: float, W: int, H: int) -> np.ndarray:
    matrix = np.array([[sx, 0.0, center[0] - (W - 1) / 2.0 * sx],
                       [0.0, sy, center[1] - (H - 1) / 2.0 * sy]])
    return cv2.warpAffine(image, matrix, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def sample_pyramid(image: np.ndarray, center: Sequence[float], size: Sequence[float],
                   scales: Sequence[float], out_size: Sequence[int]) -> np.ndarray:
    """Patches of ``size * s`` for each scale ``s``, all resized to ``out_size``:
    an array ``S x H x W [x C]`` in the image's dtype."""
    return np.stack([sample_patch(image, center, (size[0] * s, size[1] * s), out_size) for s in scales])


def zoom_feature_maps(
    maps: np.ndarray, zooms: Sequence[float], offsets: np.ndarray, out_size: int, window: np.ndarray
) -> np.ndarray:
    """Resample channels-last feature maps about their centre, and weight them by a window.

    ``maps`` is ``S x M x M x C`` (float32); output ``i``'s pixel ``(u, v)`` is the bilinear value
    of ``maps[i]`` at ``c0 + (u + dy_i - h) * zoom_i`` (rows; columns alike with ``dx_i``), where
    ``c0 = (M-1)/2``, ``h = (out_size-1)/2`` and ``offsets[i] = (dy_i, dx_i)`` in output pixels,
    times ``window[u, v]``. Positions past the map's edge take the edge value (as
    :func:`sample_patch`'s border replication).

    UDT uses it for the features of a window inside a larger crop (its centre-scale estimate, a
    zoom below 1), and, with an offset, for the features of a window moved by whole output
    pixels (its model update at the new centre); zoom 1 and no offset is the window alone.
    Returns ``S x out_size x out_size x C`` float32.
    """
    maps = np.ascontiguousarray(maps, dtype=np.float32)
    out = np.empty((len(zooms), out_size, out_size, maps.shape[-1]), np.float32)
    _zoom_window(maps, np.asarray(zooms, np.float64), np.asarray(offsets, np.float64).reshape(-1, 2),
                 np.asarray(window, np.float32), out)
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _zoom_window(maps, zooms, offsets, window, out):  # noqa: ANN001, ANN202
    m = maps.shape[1]
    c = maps.shape[3]
    n = out.shape[1]
    c0 = (m - 1) / 2.0
    h = (n - 1) / 2.0
    for i in range(zooms.shape[0]):
        src = maps[i]
        s = zooms[i]
        for u in range(n):
            y = min(max(c0 + (u + offsets[i, 0] - h) * s, 0.0), m - 1.0)
            y0 = min(int(y), m - 2)
            fy = np.float32(y - y0)
            for v in range(n):
                x = min(max(c0 + (v + offsets[i, 1] - h) * s, 0.0), m - 1.0)
                x0 = min(int(x), m - 2)
                fx = np.float32(x - x0)
                w = window[u, v]
                w00 = (1 - fy) * (1 - fx) * w
                w01 = (1 - fy) * fx * w
                w10 = fy * (1 - fx) * w
                w11 = fy * fx * w
                for k in range(c):
                    out[i, u, v, k] = (w00 * src[y0, x0, k] + w01 * src[y0, x0 + 1, k]
                                       + w10 * src[y0 + 1, x0, k] + w11 * src[y0 + 1, x0 + 1, k])


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A frame as ``H x W x 3`` uint8 RGB, whatever a caller hands a tracker: grey ``H x W`` or
    ``H x W x 1`` (replicated), RGB, RGBA (alpha dropped); float images in ``[0, 255]`` are
    rounded. Anything else raises :class:`RegtrackError`."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or min(arr.shape[:2]) < 1:
        raise RegtrackError(f"a frame of shape {arr.shape} is not an image",
                            fix="give H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA) arrays")
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    if arr.shape[2] == 4:
        return np.ascontiguousarray(arr[:, :, :3])
    return arr


def check_frame_size(image: np.ndarray, expected: tuple[int, int], frame: int | None = None) -> None:
    """Raise :class:`RegtrackError` when ``image``'s ``(H, W)`` differs from ``expected``, the
    size of the frame a tracker was initialised on (a tracker's state is in pixels of that size)."""
    if tuple(image.shape[:2]) != tuple(expected):
        where = f" at frame {frame}" if frame is not None else ""
        raise RegtrackError(f"frame size changed{where}: {image.shape[1]}x{image.shape[0]} after "
                            f"{expected[1]}x{expected[0]}",
                            fix="all frames of a sequence must have one size; "
                                "resize them or re-init the tracker")
