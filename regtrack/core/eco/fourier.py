"""Fourier coefficients in the continuous domain (C-COT, Danelljan et al. ECCV 2016, sec. 3.1).

A feature channel ``x[n]``, ``n = -(N-1)/2 .. (N-1)/2`` (odd ``N``, centre cell at ``t = 0``) is
interpolated to the period ``[0, 1)`` by ``J{x}(t) = sum_n x[n] b(N t - n)`` (C-COT eq. 3) with
the cubic kernel ``b``; its Fourier coefficients are ``X[k] B(k / N) / N`` (C-COT eq. 4) where
``X`` is the DFT and ``B`` the kernel's Fourier transform (:func:`cubic_kernel_fourier`).
See :mod:`regtrack.core.eco` for the layout of the spectra.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def frequencies(n: int) -> np.ndarray:
    """The integer frequencies ``-(n-1)/2 .. (n-1)/2`` of a centred odd-length spectrum."""
    if n % 2 != 1:
        raise ValueError(f"ECO spectra have odd sizes, not {n}")
    return np.arange(n) - n // 2


def cfft2(x: np.ndarray) -> np.ndarray:
    """Centred 2-D DFT over the last two (odd) axes: the map's centre cell is the origin and the
    zero frequency is the centre entry. complex64 for float32 input."""
    xf = scipy.fft.fft2(scipy.fft.ifftshift(x, axes=(-2, -1)), axes=(-2, -1))
    return scipy.fft.fftshift(xf, axes=(-2, -1))


def cubic_kernel(x: np.ndarray, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution kernel (the bicubic kernel, ``a = -0.75`` as ECO):
    ``(a+2)|x|^3 - (a+3)|x|^2 + 1`` for ``|x| <= 1``, ``a|x|^3 - 5a|x|^2 + 8a|x| - 4a`` for
    ``1 < |x| < 2``, else 0."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    inner = (a + 2) * x**3 - (a + 3) * x**2 + 1
    outer = a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return np.where(x <= 1, inner, np.where(x < 2, outer, 0.0))


def cubic_kernel_fourier(f: np.ndarray, a: float = -0.75) -> np.ndarray:
    """The continuous Fourier transform ``B(f) = integral b(x) exp(-i 2 pi f x) dx`` of
    :func:`cubic_kernel` (real: ``b`` is even). Integrating the two cubic pieces by parts gives

    ``B(f) = (24 + 12a - 24 cos 2pi f - 12a cos 4pi f - (24 + 32a) pi f sin 2pi f
    - 8a pi f sin 4pi f) / (16 pi^4 f^4)``, ``B(0) = 1``

    (the closed form behind ECO's ``cubic_spline_fourier.m``)."""
    f = np.asarray(f, dtype=np.float64)
    out = np.ones_like(f)
    nz = f != 0
    p = np.pi * f[nz]
    num = (24 + 12 * a - 24 * np.cos(2 * p) - 12 * a * np.cos(4 * p)
           - (24 + 32 * a) * p * np.sin(2 * p) - 8 * a * p * np.sin(4 * p))
    out[nz] = num / (16 * p**4)
    return out


def interpolation_coefficients(n: int, a: float = -0.75) -> np.ndarray:
    """``B(k / n) / n`` for the frequencies of an odd length-``n`` map: multiplying a channel's
    DFT by the outer product of these along both axes gives the Fourier coefficients of its
    continuous interpolation (C-COT eq. 4)."""
    k = frequencies(n)
    return (cubic_kernel_fourier(k / n, a) / n).astype(np.float32)


def to_continuous(xf: np.ndarray, a: float = -0.75) -> np.ndarray:
    """A centred spectrum ``[..., N, M]`` times the kernel coefficients of both axes (C-COT eq. 4)."""
    n, m = xf.shape[-2:]
    return xf * (interpolation_coefficients(n, a)[:, None] * interpolation_coefficients(m, a)[None, :])


def gaussian_label_fourier(n: int, m: int, sigma: float) -> np.ndarray:
    """Fourier coefficients of the periodic Gaussian label ``exp(-|t|^2 / (2 sigma^2))`` on the
    unit period (``sigma`` a fraction of the period): ``2 pi sigma^2 exp(-2 pi^2 sigma^2
    (k^2 + l^2))`` (ECO's ``yf``; C-COT eq. 9's ``y``), ``n x m`` centred."""
    ky, kx = frequencies(n), frequencies(m)
    gy = np.sqrt(2 * np.pi) * sigma * np.exp(-2 * (np.pi * sigma * ky) ** 2)
    gx = np.sqrt(2 * np.pi) * sigma * np.exp(-2 * (np.pi * sigma * kx) ** 2)
    return (gy[:, None] * gx[None, :]).astype(np.complex64)


def shift_spectrum(xf: np.ndarray, shift: tuple[float, float], half: bool = False) -> np.ndarray:
    """The coefficients of ``x(t + shift)``, ``shift = (dy, dx)`` in periods: ``X[k] exp(i 2 pi k
    shift)``. A detection sample shifted by the found displacement is centred on the target
    (ECO's ``use_detection_sample``). ``half``: ``xf`` is a half spectrum (:func:`half`)."""
    n, m = xf.shape[-2:]
    ey = np.exp(2j * np.pi * frequencies(n) * shift[0])
    kx = np.arange(m) - (m - 1) if half else frequencies(m)
    ex = np.exp(2j * np.pi * kx * shift[1])
    return (xf * (ey[:, None] * ex[None, :])).astype(xf.dtype)


def embed(small: np.ndarray, shape: tuple[int, int], half: bool = False) -> tuple[slice, slice]:
    """The index of a centred ``N x M`` spectrum inside a centred larger one of ``shape``: the
    blocks of several resolutions add up there (ECO's output size is the largest filter's).
    ``half``: both are half spectra (:func:`half`), whose last column is frequency 0."""
    n, m = small.shape[-2:]
    py = (shape[0] - n) // 2
    px = shape[1] - m if half else (shape[1] - m) // 2
    return slice(py, py + n), slice(px, px + m)


def half(xf: np.ndarray) -> np.ndarray:
    """The columns of non-positive horizontal frequency, ``[..., N, M // 2 + 1]``: a real map's
    spectrum is Hermitian, so they hold it all (ECO's ``compact_fourier_coeff``); the filter's
    training and the sample space work on them, at half the cost."""
    return np.ascontiguousarray(xf[..., : xf.shape[-1] // 2 + 1])


def full(xh: np.ndarray) -> np.ndarray:
    """The whole centred spectrum from its :func:`half`: ``X[-k] = conj(X[k])``."""
    m = 2 * xh.shape[-1] - 1
    mirror = np.conj(xh[..., ::-1, -2::-1])  # columns of frequency 1 .. (m-1)/2
    return np.concatenate([xh, mirror], axis=-1)[..., :m]


def half_metric(xh: np.ndarray) -> np.ndarray:
    """Column weights that turn sums over a half spectrum into sums over the whole one: 2 for
    every column but the frequency-0 one, which is its own mirror (ECO's ``inner_product_filter``)."""
    w = np.full(xh.shape[-1], 2.0, np.float32)
    w[-1] = 1.0
    return w


def sample_grid(sf: np.ndarray) -> np.ndarray:
    """The real Fourier series ``s(t) = sum_k S[k] exp(i 2 pi k t)`` on the grid ``t = (i / N,
    j / M)`` (index 0 is ``t = 0``; wrapped, as a circular response)."""
    n, m = sf.shape[-2:]
    return scipy.fft.ifft2(scipy.fft.ifftshift(sf, axes=(-2, -1)), axes=(-2, -1)).real * (n * m)
