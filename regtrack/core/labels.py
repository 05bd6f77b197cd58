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


def model_window(target_size: np.ndarray, padding: float, cell_size: int = 1,
                 downscale_above: float | None = None, min_cells: int = 0,
                 max_area: float | None = None, fft_friendly: bool = False) -> tuple[np.ndarray, float]:
    """The search window of KCF/DSST-style trackers in *model* pixels, and the sampling factor
    (image pixels per model pixel). Sizes are ``(w, h)``.

    The window is ``floor(target / factor * (1 + padding))`` (KCF, ``tracker.m``). ``factor``
    is 2 when ``sqrt(w * h) >= downscale_above`` (KCF halves the image for large targets:
    "we don't need that much detail"), else 1; and when the window would be narrower than
    ``min_cells`` cells, the patch is upsampled instead (``factor < 1``) so that a target of a
    few pixels still gets a usable feature map (a robustness addition, not in the papers).
    ``max_area`` caps the window's area in model pixels by sampling more coarsely (fDSST's
    ``translation_model_max_area``, Danelljan et al. TPAMI 2017). ``fft_friendly`` enlarges the
    window to the next number of cells whose FFT is fast (2-, 3-, 5-smooth; a few % at most):
    a window of 43 or 73 cells, prime, costs several times more to transform than 45 or 75.
    """
    target = np.maximum(np.asarray(target_size, dtype=np.float64), 1.0)
    factor = 2.0 if downscale_above is not None and np.sqrt(np.prod(target)) >= downscale_above else 1.0
    if max_area is not None and np.prod(target * (1.0 + padding)) / factor**2 > max_area:
        factor = float(np.sqrt(np.prod(target * (1.0 + padding)) / max_area))
    window = np.floor(target / factor * (1.0 + padding))
    need = float(min_cells * cell_size)
    if need > 0 and window.min() < need:
        factor = float((target * (1.0 + padding)).min() / need)
        window = np.floor(target / factor * (1.0 + padding) + 1e-9)
    window = np.maximum(window, float(max(cell_size, 1)))
    if fft_friendly:
        import scipy.fft

        cells = [scipy.fft.next_fast_len(int(v // cell_size), real=True) for v in window]
        window = np.array(cells, dtype=np.float64) * cell_size
    return window.astype(np.int64), factor


def make_odd(n: int) -> int:
    """``n`` if odd, else ``n + 1`` (MATLAB trackers' ``n - mod(n, 2) + 1``: odd windows and grids
    have a centre pixel)."""
    return int(n) - int(n) % 2 + 1


def crest_search_window(target_hw: np.ndarray, factor: float = 5.0) -> int:
    """CREST's search window (``get_search_window.m``): a square of ``factor`` x the target's
    longer side, rounded, made odd. Returns its side in pixels."""
    return make_odd(round(factor * float(max(target_hw))))


def centered_gaussian_label(height: int, width: int, sigma_hw: tuple[float, float],
                            alpha: float = 0.5) -> np.ndarray:
    """``exp(-alpha (dy^2 / sigma_h^2 + dx^2 / sigma_w^2))`` peaking at ``((height - 1) // 2,
    (width - 1) // 2)``, the centre cell of an odd map: the label (and motion prior) of the
    spatial-regression trackers. ``alpha = 0.5`` is the usual Gaussian; CREST's
    ``gaussian_shaped_labels.m`` uses 0.3 (0.2 for large square targets), a wider peak for the
    same sigma."""
    dy = np.arange(height) - (height - 1) // 2
    dx = np.arange(width) - (width - 1) // 2
    sh, sw = float(sigma_hw[0]), float(sigma_hw[1])
    g = np.exp(-alpha * (dy[:, None] ** 2 / sh**2 + dx[None, :] ** 2 / sw**2))
    return g.astype(np.float32)
