"""Box conventions.

Two conventions, and every function says which it takes:

* **OTB box** ``[x, y, w, h]``: what datasets, result files and the tracker API use. ``(x, y)``
  is the top-left pixel in MATLAB's 1-based pixel indices, and the box covers the pixels
  ``x .. x+w-1`` (so its centre is ``x + (w-1)/2``, as the official toolkit computes it).
* **centre/size** ``(cx, cy), (w, h)``: what trackers work in. ``(cx, cy)`` is the target centre
  in 0-based, pixel-centred image coordinates (pixel ``[row r, col c]`` of the array sits at
  ``(c, r)``), the coordinates OpenCV's sampling functions use.

The two are exact inverses: ``cx = x - 1 + (w - 1) / 2``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from regtrack.errors import RegtrackError


def otb_to_center(box: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OTB box ``[x, y, w, h]`` (1-based) -> ``(center, size)``, center 0-based ``[cx, cy]``."""
    x, y, w, h = (float(v) for v in box)
    return np.array([x - 1.0 + (w - 1.0) / 2.0, y - 1.0 + (h - 1.0) / 2.0]), np.array([w, h])


def center_to_otb(center: Sequence[float] | np.ndarray, size: Sequence[float] | np.ndarray) -> np.ndarray:
    """``(center, size)`` with a 0-based center -> OTB box ``[x, y, w, h]`` (1-based)."""
    cx, cy = float(center[0]), float(center[1])
    w, h = float(size[0]), float(size[1])
    return np.array([cx + 1.0 - (w - 1.0) / 2.0, cy + 1.0 - (h - 1.0) / 2.0, w, h])


MAX_BOX_TO_FRAME = 2
"""An initial box may be partly outside the frame, but not wider or taller than this many frames."""


def check_init_box(box: Sequence[float] | np.ndarray, image_shape: tuple[int, ...],
                   source: str = "the initial box") -> np.ndarray:
    """Validate an OTB box for ``init``: finite, of positive size, overlapping the image.

    A box partly outside the image is allowed (trackers pad by border replication); one of zero
    size, wholly outside the image, or over ``MAX_BOX_TO_FRAME`` times its size, raises
    :class:`RegtrackError` naming ``source``.
    """
    arr = np.asarray(box, dtype=np.float64).reshape(-1)
    if arr.size != 4 or not np.all(np.isfinite(arr)):
        raise RegtrackError(f"box {list(arr)} is not four finite numbers x,y,w,h", path=source,
                            fix="give the box as x,y,w,h in pixels")
    x, y, w, h = arr
    if w <= 0 or h <= 0:
        raise RegtrackError(f"box {x:g},{y:g},{w:g},{h:g} has zero or negative size", path=source,
                            fix="width and height must be at least 1 pixel")
    H, W = image_shape[:2]
    if x + w - 1 < 1 or y + h - 1 < 1 or x > W or y > H:
        raise RegtrackError(f"box {x:g},{y:g},{w:g},{h:g} lies wholly outside the {W}x{H} image",
                            path=source, fix="boxes are 1-based x,y,w,h; check the units and the frame")
    if w > MAX_BOX_TO_FRAME * W or h > MAX_BOX_TO_FRAME * H:
        # a tracker's search window is a few times the box: it would cost gigabytes a frame
        raise RegtrackError(f"box {x:g},{y:g},{w:g},{h:g} is more than {MAX_BOX_TO_FRAME} times the {W}x{H} "
                            "image", path=source,
                            fix="boxes are x,y,w,h in pixels of the frame (not x1,y1,x2,y2, not scaled)")
    return arr


def check_tracked_box(box: Sequence[float] | np.ndarray, index: int,
                      tracker: str = "the tracker") -> np.ndarray:
    """A tracker's output for frame ``index`` (0-based) must be four finite numbers with a positive
    size; anything else is a one-line :class:`RegtrackError`, so a NaN box is never written."""
    arr = np.asarray(box, dtype=np.float64).reshape(-1)
    if arr.size != 4 or not np.all(np.isfinite(arr)) or arr[2] <= 0 or arr[3] <= 0:
        raise RegtrackError(f"{tracker} gave the box {arr.tolist()} on frame {index + 1}, not four finite "
                            "numbers of positive size",
                            fix="its parameters may be outside their useful range (regtrack track --list); "
                            "the boxes tracked so far are kept")
    return arr


def clamp_box_size(size: np.ndarray, image_shape: tuple[int, ...], min_size: float = 2.0) -> np.ndarray:
    """Keep a tracker's target size between ``min_size`` pixels and the image size."""
    H, W = image_shape[:2]
    return np.clip(np.asarray(size, dtype=np.float64), min_size, [max(W, min_size), max(H, min_size)])


def clamp_center(center: Sequence[float] | np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
    """Keep a tracker's 0-based centre ``(cx, cy)`` on the image, so that a target that leaves the
    frame is searched for at the border it left by, and the reported box stays valid."""
    H, W = image_shape[:2]
    return np.clip(np.asarray(center, dtype=np.float64), [0.0, 0.0], [W - 1.0, H - 1.0])
