"""Shared fixtures. Tests that read real data use ``shared`` (the ``../shared`` folder beside the
checkout, which CI has too); they are skipped, loudly, only where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("REGTRACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip(f"no shared data at {SHARED} (set REGTRACK_SHARED)")
    return SHARED


@pytest.fixture
def zooming_scene():  # noqa: ANN201
    """``make(seed, frames, rate) -> (first, zoomed)``: a 160 x 120 frame of blurred noise and the
    same scene zoomed ``rate ** k`` (k = 1 .. frames) about (79.5, 59.5), 0-based: the centre of the
    OTB box ``[60, 40, 40, 40]``, a target that grows by ``rate`` a frame."""
    import cv2
    import numpy as np

    def make(seed: int = 1, frames: int = 3, rate: float = 1.04) -> tuple[np.ndarray, list[np.ndarray]]:
        rng = np.random.default_rng(seed)
        noise = cv2.GaussianBlur(rng.integers(0, 256, (120, 160, 3)).astype(np.float32), (0, 0), 2.0)
        first = np.clip(noise, 0, 255).astype(np.uint8)
        zooms = [cv2.getRotationMatrix2D((79.5, 59.5), 0.0, rate**k) for k in range(1, frames + 1)]
        return first, [cv2.warpAffine(first, z, (160, 120), borderMode=cv2.BORDER_REFLECT) for z in zooms]

    return make
