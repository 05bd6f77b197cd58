"""The multichannel correlation filter in the Fourier domain: one implementation of each formula,
for NumPy arrays and for PyTorch tensors alike (UDT trains through it).

Layout: features are ``[..., C, H, W]`` (any leading batch dims), labels ``[..., H, W]``.
Spectra are real FFTs over the last two axes (``rfft2``), since every signal here is real.

Two model forms appear in the papers, and both are here:

* **kernel form** (KCF, Henriques et al. TPAMI 2015, eq. 17 and 22; DCFNet/UDT; HCF): learn
  ``alphaf = yf / (kxxf + lambda)`` and keep ``xf``; detect with
  ``response = ifft(alphaf * kxzf)``. Linear or Gaussian kernel. The model update interpolates
  ``xf`` and ``alphaf`` separately.
* **ridge form** (MOSSE / DSST, Danelljan et al. BMVC 2014, eq. 5-6): keep the numerator
  ``yf * conj(xf)`` per channel and the shared denominator ``sum_c |xf|^2``; detect with
  ``ifft(sum_c num * zf / (den + lambda))``. The update interpolates numerator and denominator.

Conventions: a label that peaks at index 0 (see :mod:`regtrack.core.labels`) gives a response
that peaks at the displacement of ``z`` relative to ``x``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import scipy.fft

try:  # torch is a dependency, but the NumPy path must not pay its import when unused
    import torch
except ImportError:  # pragma: no cover
    torch = None  # type: ignore[assignment]

Array = Any  # np.ndarray or torch.Tensor


def _is_torch(x: Array) -> bool:
    return torch is not None and isinstance(x, torch.Tensor)


def fft2(x: Array, workers: int = 1, channels_last: bool = False) -> Array:
    """Real 2-D FFT over the spatial axes: the last two, or with ``channels_last`` (maps stored
    ``[..., H, W, C]``) the two before the last. ``workers`` threads split a batch of NumPy maps
    (worth it for dozens of large maps, as UDT's; for a few small ones thread start-up costs
    more). Channels-last is the faster layout for many channels: pocketfft then transforms
    neighbouring channels together, reading memory in order."""
    axes = (-3, -2) if channels_last else (-2, -1)
    if _is_torch(x):
        return torch.fft.rfft2(x, dim=axes)
    return scipy.fft.rfft2(x, axes=axes, workers=workers)


def ifft2(xf: Array, shape: tuple[int, int]) -> Array:
    """Inverse of :func:`fft2`; ``shape = (H, W)`` of the spatial signal."""
    if _is_torch(xf):
        return torch.fft.irfft2(xf, s=shape, dim=(-2, -1))
    return scipy.fft.irfft2(xf, s=shape, axes=(-2, -1))


def _exp(x: Array) -> Array:
    return torch.exp(x) if _is_torch(x) else np.exp(x)


def _relu(x: Array) -> Array:
    return torch.clamp(x, min=0) if _is_torch(x) else np.maximum(x, 0)


def linear_kernel(
    xf: Array, zf: Array, n_elements: int | None = None, channels_last: bool = False
) -> Array:
    """Linear kernel correlation ``kxzf = sum_c zf * conj(xf)`` (KCF eq. 31); the channel axis is
    ``-3``, or ``-1`` with ``channels_last`` (spectra of :func:`fft2` with the same flag).

    KCF and HCF divide by the number of elements ``C*H*W`` of the spatial map (pass it as
    ``n_elements``); DCFNet and UDT do not (leave it ``None``). The rfft spectrum holds the same
    values as the full FFT at its frequencies, so the division matches MATLAB's ``numel(xf)``."""
    if channels_last and _fast_numpy_pair(xf, zf):
        k = _channel_dot_last(zf.reshape(-1, *zf.shape[-3:]), xf).reshape(zf.shape[:-1])
    else:
        k = (zf * xf.conj()).sum(-1 if channels_last else -3)
    return k / n_elements if n_elements else k


def gaussian_kernel(x: Array, z: Array, xf: Array, zf: Array, sigma: float) -> Array:
    """Gaussian kernel correlation (KCF eq. 30-31) of spatial maps ``x``, ``z`` (``[..., C, H, W]``)
    with their spectra; returns the kernel's spectrum ``kxzf``.
    ``k = exp(-max(0, |x|^2 + |z|^2 - 2 x*z) / (sigma^2 N))`` with ``N = C*H*W`` as in KCF's code."""
    h, w = x.shape[-2], x.shape[-1]
    n = x.shape[-3] * h * w
    xx = (x * x).sum((-3, -2, -1))
    zz = (z * z).sum((-3, -2, -1))
    xz = ifft2((zf * xf.conj()).sum(-3), (h, w))
    if _is_torch(x):
        xx, zz = xx[..., None, None], zz[..., None, None]
    else:
        xx, zz = np.asarray(xx)[..., None, None], np.asarray(zz)[..., None, None]
    d = _relu(xx + zz - 2.0 * xz) / n
    return fft2(_exp(-d / (sigma * sigma)))


def solve_alpha(kxxf: Array, yf: Array, lam: float) -> Array:
    """Closed-form kernel ridge regression in the Fourier domain: ``alphaf = yf / (kxxf + lambda)``
    (KCF eq. 17)."""
    return yf / (kxxf + lam)


def kernel_response(alphaf: Array, kxzf: Array, shape: tuple[int, int]) -> Array:
    """Detection response ``ifft(alphaf * kxzf)`` (KCF eq. 22), a real ``[..., H, W]`` map."""
    return ifft2(alphaf * kxzf, shape)


def ridge_numerator(xf: Array, yf: Array) -> Array:
    """DSST's per-channel numerator ``A_c = yf * conj(xf_c)`` (Danelljan et al. BMVC 2014, eq. 5)."""
    return yf[..., None, :, :] * xf.conj()


def ridge_denominator(xf: Array) -> Array:
    """DSST's shared denominator ``B = sum_c |xf_c|^2`` (BMVC 2014, eq. 5), without lambda."""
    return (xf * xf.conj()).real.sum(-3)


def ridge_response(num: Array, den: Array, zf: Array, lam: float, shape: tuple[int, int]) -> Array:
    """DSST detection ``ifft(sum_c A_c * zf_c / (B + lambda))`` (BMVC 2014, eq. 6)."""
    return ifft2((num * zf).sum(-3) / (den + lam), shape)


def interpolate(old: Array, new: Array, rate: float) -> Array:
    """The running-average model update ``(1 - rate) * old + rate * new`` every filter uses."""
    return (1.0 - rate) * old + rate * new


def update_model(model: tuple[Array, ...] | None, new: tuple[Array, ...], rate: float) -> tuple[Array, ...]:
    r"""The model update of every filter here: a model made of several arrays (KCF: ``x, xf,
    alphaf``; DSST: ``num, den``; UDT: ``xf, alphaf``) is the first frame's as is (``model`` None),
    then each array is blended with the new frame's by :func:`interpolate`."""
    if model is None:
        return new
    return tuple(interpolate(old, cur, rate) for old, cur in zip(model, new, strict=True))


def peak_offset(response: np.ndarray, subpixel: bool = True) -> tuple[float, float, float]:
    """Locate the maximum of a wrapped (Fourier) response ``H x W`` and return
    ``(dy, dx, peak_value)``: the displacement in cells, signed and wrapped so that index
    ``H - 1`` is ``-1``. With ``subpixel``, a 1-D parabola through the peak and its two (wrapped)
    neighbours refines each axis, as DSST/ECO-style trackers do."""
    h, w = response.shape
    r, c = np.unravel_index(int(np.argmax(response)), response.shape)
    peak = float(response[r, c])
    dy, dx = float(r), float(c)
    if subpixel:
        dy += _parabola(response[(r - 1) % h, c], peak, response[(r + 1) % h, c])
        dx += _parabola(response[r, (c - 1) % w], peak, response[r, (c + 1) % w])
    # wrap to [-n/2, n/2): index n-1 is a shift of -1 (KCF's "if delta > size/2, subtract size")
    if dy > h / 2:
        dy -= h
    if dx > w / 2:
        dx -= w
    return dy, dx, peak


def _parabola(left: float, center: float, right: float) -> float:
    denom = left - 2.0 * center + right
    if denom >= 0:  # not a maximum (flat or degenerate): no refinement
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _fast_numpy_pair(xf: Array, zf: Array) -> bool:
    """True when ``linear_kernel`` may take the compiled path: NumPy complex64 spectra, the model
    ``xf`` one ``H x W x C`` sample, ``zf`` any number of them."""
    return (
        isinstance(xf, np.ndarray) and isinstance(zf, np.ndarray)
        and xf.dtype == np.complex64 and zf.dtype == np.complex64
        and xf.ndim == 3 and zf.ndim >= 3 and zf.shape[-3:] == xf.shape
    )


@numba.njit(cache=True, nogil=True, fastmath=True)
def _channel_dot_last(zf: np.ndarray, xf: np.ndarray) -> np.ndarray:
    """``out[s, i, j] = sum_c zf[s, i, j, c] * conj(xf[i, j, c])`` in one pass, with no
    temporaries (4x faster than the NumPy product and sum for UDT's 3 x 125 x 63 x 32 spectra)."""
    n, h, w, c = zf.shape
    out = np.empty((n, h, w), np.complex64)
    for s in range(n):
        for i in range(h):
            for j in range(w):
                re = np.float32(0.0)
                im = np.float32(0.0)
                for k in range(c):
                    a = zf[s, i, j, k]
                    b = xf[i, j, k]
                    re += a.real * b.real + a.imag * b.imag
                    im += a.imag * b.real - a.real * b.imag
                out[s, i, j] = complex(re, im)
    return out
