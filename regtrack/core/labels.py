"""Cosine windows, Gaussian regression labels, and the papers' rules for their sizes.

Labels for Fourier-domain filters peak at index ``[0, 0]`` and wrap around (KCF's
``circshift``'d ``gaussian_shaped_labels``), so a response peak at index ``i`` means a shift of
``wrapped_offsets(n)[i]`` cells. ``peak='center'`` gives the unshifted label for spatial-domain
regression (CREST, DSLT, TADT).
"""

from __future__ import annotations

import numpy as np


def hann_window(height: int, width: int) -> np.ndarray:
    """2-D cosine window, the outer product of MATLAB's symmetric ``hann(n)`` (zeros at the ends),
    as KCF, DSST, HCF and UDT multiply their features with."""
    return np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)


def wrapped_offsets(n: int) -> np.ndarray:
    """Signed cell offsets of the indices ``0..n-1`` of a circular (FFT) map: ``0, 1, ..., -1``."""
    return np.fft.fftfreq(n, d=1.0 / n)


def gaussian_label(height: int, width: int, sigma: float, peak: str = "origin") -> np.ndarray:
    """Gaussian regression target ``exp(-(dx^2 + dy^2) / (2 sigma^2))`` over a ``height x width``
    grid, sigma in cells. ``peak='origin'``: maximum at ``[0, 0]``, wrapped (Fourier filters);
    ``peak='center'``: maximum at ``[height // 2, width // 2]`` (spatial regression)."""
    if peak == "origin":
        dy, dx = wrapped_offsets(height), wrapped_offsets(width)
    elif peak == "center":
        dy, dx = np.arange(height) - height // 2, np.arange(width) - width // 2
    else:
        raise ValueError(f"peak must be 'origin' or 'center', not {peak!r}")
    g = np.exp(-0.5 * (dy[:, None] ** 2 + dx[None, :] ** 2) / float(sigma) ** 2)
    return g.astype(np.float32)


def output_sigma(target_size: np.ndarray, factor: float, cell_size: float = 1.0) -> float:
    """The label sigma in cells used by KCF, DSST, HCF and UDT:
    ``sqrt(w * h) * output_sigma_factor / cell_size`` (KCF, Henriques et al. TPAMI 2015, sec. 6.1)."""
    return float(np.sqrt(np.prod(target_size)) * factor / cell_size)


def padded_window(target_size: np.ndarray, padding: float) -> np.ndarray:
    """KCF's search window: the target enlarged by ``1 + padding`` in both directions."""
    return np.asarray(target_size, dtype=np.float64) * (1.0 + padding)


def hcf_search_window(target_size: np.ndarray, image_shape: tuple[int, ...], padding: float = 1.8,
                      large_padding: float = 1.0, tall_padding: float = 0.4) -> np.ndarray:
    """HCF's ``get_search_window`` (CF2, utility/get_search_window.m): ``(1 + padding)`` x target;
    for a tall target (h / w > 2) the height is padded by ``1 + tall_padding`` only; for a target
    over 5 % of the image, ``(1 + large_padding)`` x target. Sizes are ``(w, h)``."""
    w, h = float(target_size[0]), float(target_size[1])
    H, W = image_shape[:2]
    if h / w > 2:
        return np.array([w * (1 + padding), h * (1 + tall_padding)])
    if w * h / float(H * W) > 0.05:
        return np.array([w, h]) * (1 + large_padding)
    return np.array([w, h]) * (1 + padding)
