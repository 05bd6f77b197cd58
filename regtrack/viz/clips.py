"""Short clips of several trackers on one sequence, for the HTML report's side-by-side section
(the talk's qualitative comparison slides).

Frames are ``H x W x 3`` uint8 RGB; boxes are OTB ``[x, y, w, h]`` (1-based). Each frame is drawn by
:func:`regtrack.tracking.overlay`, the picture ``regtrack track --out`` and ``regtrack serve`` show,
then scaled down and written as an animated WebP (Pillow): it plays in an ``<img>`` in every
browser, from disk, where the MPEG-4 Part 2 that OpenCV's wheels encode does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import cv2
import numpy as np

from regtrack.fileio import atomic_path
from regtrack.tracking import overlay

CLIP_WIDTH = 320  # pixels; a grid of clips stays light


def write_clip(path: str | Path, frames: Iterable[np.ndarray], boxes: Mapping[str, np.ndarray],
               gt: np.ndarray | None = None, fps: float = 30.0, max_frames: int = 60,
               width: int = CLIP_WIDTH, quality: int = 40) -> Path:
    """Write the first ``max_frames`` of ``frames`` with each tracker's ``boxes`` (name -> N x 4,
    in :data:`regtrack.viz.overlay.PALETTE` order) and the ground truth ``gt`` drawn, at most
    ``width`` pixels wide, as an animated WebP at ``path`` (atomically)."""
    from PIL import Image

    pictures = []
    for i, frame in enumerate(frames):
        if i >= max_frames:
            break
        shown = {name: b[i] for name, b in boxes.items() if i < len(b)}
        picture = overlay(frame, i, shown, gt)
        if picture.shape[1] > width:
            height = round(picture.shape[0] * width / picture.shape[1])
            picture = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
        pictures.append(Image.fromarray(picture))
    if not pictures:
        raise ValueError("write_clip: no frames")
    path = Path(path)
    with atomic_path(path) as tmp:
        pictures[0].save(tmp, format="WEBP", save_all=True, append_images=pictures[1:],
                         duration=round(1000 / fps), loop=0, quality=quality, method=4)
    return path
