"""The spatial regularisation window (SRDCF, Danelljan et al. ICCV 2015; C-COT eq. 7; ECO's
``get_reg_filter.m``): the filter's energy is penalised by ``w(t)``, small on the target and
growing quadratically away from it, so that the filter may span a large support without learning
the background. In the Fourier domain the penalty ``||w f||^2`` becomes a convolution of the
filter's coefficients with ``w``'s coefficients ``W``; keeping only its large coefficients makes
that convolution a small kernel (a few taps)."""

from __future__ import annotations

import numba
import numpy as np


def reg_window_filter(support: float, target_size: np.ndarray, w_min: float = 1e-4,
                      w_edge: float = 10e-3, power: float = 2.0,
                      sparsity: float = 0.05) -> np.ndarray:
    """The regularisation filter: the centred DFT of ``w(t) = (w_edge - w_min) (|t_y / s_y|^p +
    |t_x / s_x|^p) + w_min`` on the square sample support (``support`` pixels per side, target
    ``(w, h)`` pixels, ``s = target / 2``), coefficients below ``sparsity`` times the largest set
    to zero and the empty border rows/columns cut; the DC term is corrected so that the sparse
    window's minimum is still ``w_min`` (ECO ``get_reg_filter.m``). Real, odd-sized, symmetric."""
    n = int(round(support))
    n += 1 - n % 2  # odd: the window is symmetric about a grid point, its DFT real
    grid = np.arange(n) - (n - 1) / 2.0
    sy, sx = 0.5 * float(target_size[1]), 0.5 * float(target_size[0])
    window = (w_edge - w_min) * (np.abs(grid[:, None] / sy) ** power
                                 + np.abs(grid[None, :] / sx) ** power) + w_min
    # the window's centre is the origin, as the features' (regtrack.core.eco conventions)
    dft = np.fft.fft2(np.fft.ifftshift(window)) / window.size
    dft[np.abs(dft) < sparsity * np.abs(dft).max()] = 0
    sparse = np.real(np.fft.ifft2(dft)) * window.size
    dft[0, 0] += w_min - sparse.min()  # lifts the window by that much
    dft = np.fft.fftshift(dft)
    c = n // 2  # frequency 0 after fftshift
    rows = np.flatnonzero(np.abs(dft).sum(1) > 0)
    cols = np.flatnonzero(np.abs(dft).sum(0) > 0)
    ry = int(np.abs(rows - c).max()) if rows.size else 0
    rx = int(np.abs(cols - c).max()) if cols.size else 0
    return np.real(dft[c - ry:c + ry + 1, c - rx:c + rx + 1]).astype(np.float32)


def apply_reg(hf: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """``W^H W f`` in the Fourier domain: the filter's coefficients ``[..., N, M]`` convolved with
    the regularisation filter (full), then with it again (valid), i.e. ``w^2 f`` for a filter
    whose coefficients are zero outside ``N x M`` (C-COT eq. 10's regularisation term). The
    kernel has a few dozen taps: a compiled direct convolution (SciPy's is slow on complex
    input)."""
    flat = np.ascontiguousarray(hf, np.complex64).reshape((-1,) + hf.shape[-2:])
    out = _reg_twice(flat, np.ascontiguousarray(reg, np.float32)).reshape(hf.shape)
    return out.astype(hf.dtype, copy=False)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _reg_twice(hf: np.ndarray, reg: np.ndarray) -> np.ndarray:  # pragma: no cover - jit
    """``valid(full(hf * reg) * reg)`` per leading index; ``reg`` is symmetric, so convolution
    and correlation agree."""
    k, n, m = hf.shape
    a, b = reg.shape
    out = np.zeros_like(hf)
    full = np.zeros((n + a - 1, m + b - 1), np.complex64)
    for c in range(k):
        full[:, :] = 0
        _shifted_sum(hf[c], full, reg, True)  # full[y + i, x + j] += reg[i, j] hf[y, x]
        _shifted_sum(out[c], full, reg, False)  # out[y, x] += reg[i, j] full[y + i, x + j]
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _shifted_sum(small: np.ndarray, big: np.ndarray, reg: np.ndarray,
                 to_big: bool) -> None:  # pragma: no cover - jit
    """For each tap ``(i, j)``: ``big[i:i+n, j:j+m] += w small`` (``to_big``) or
    ``small += w big[i:i+n, j:j+m]``."""
    n, m = small.shape
    a, b = reg.shape
    for i in range(a):
        for j in range(b):
            w = reg[i, j]
            if w == 0:
                continue
            for y in range(n):
                for x in range(m):
                    if to_big:
                        big[i + y, j + x] += w * small[y, x]
                    else:
                        small[y, x] += w * big[i + y, j + x]
