"""The fDSST scale filter (Danelljan, Haeger, Khan, Felsberg, "Discriminative scale space
tracking", TPAMI 2017, sec. 5; ECO's ``scale_filter_track.m`` / ``scale_filter_update.m``).

DSST's 1-D scale filter (:mod:`regtrack.core.scale`) made fast: ``S = 17`` scale samples
spanning the range of ``S_i = 33`` scales of step ``a = 1.02`` (sample step ``a^(33/17)``), their
fHOG vectors compressed to ``S`` dimensions by an orthonormal basis of the running template
(QR, TPAMI 2017 eq. 9-10; the denominator uses the current sample's own basis), and the
response's DFT zero-padded from 17 to 33 coefficients (sub-grid interpolation, sec. 5.2) before
its maximum is refined by a parabola through the peak and its neighbours.

Same call sequence as :class:`regtrack.core.scale.ScaleFilter` (``init``, ``estimate``,
``update``, ``scale``, ``size``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from regtrack.core.scale import FeatureFn, ScaleFilter, ScaleParams, scale_window


@dataclasses.dataclass
class FDSSTParams(ScaleParams):
    """ScaleParams with fDSST's (ECO's) defaults and the interpolated scale count."""

    n_scales: int = 17
    n_interp_scales: int = 33
    scale_sigma_factor: float = 1.0 / 16  # sigma = n_interp_scales * factor (interpolated steps)


def interp_dft(xf: np.ndarray, n_out: int) -> np.ndarray:
    """Zero-pad a 1-D DFT (last axis, ``np.fft`` order) to ``n_out`` coefficients, scaled by
    ``n_out / n`` so that the inverse samples the same trigonometric polynomial more densely."""
    n = xf.shape[-1]
    out = np.zeros(xf.shape[:-1] + (n_out,), np.complex128)
    pos = (n + 1) // 2
    neg = n - pos
    out[..., :pos] = xf[..., :pos]
    if neg:
        out[..., -neg:] = xf[..., -neg:]
    return out * (n_out / n)


class FDSSTScaleFilter(ScaleFilter):
    """fDSST: see the module docstring."""

    def __init__(self, params: FDSSTParams | None = None, feature: FeatureFn | None = None) -> None:
        super().__init__(params or FDSSTParams(), feature)
        p = self.params
        s, si = p.n_scales, p.n_interp_scales
        exps = (np.arange(s) - (s - 1) // 2) * si / s
        self.factors = p.scale_step ** exps
        interp_exps = np.arange(si) - (si - 1) // 2
        # index 0 = no change (the label peaks there, wrapped)
        self.interp_factors = p.scale_step ** np.roll(interp_exps, -((si - 1) // 2))
        sigma = si * p.scale_sigma_factor
        label = np.exp(-0.5 * np.roll(exps, -((s - 1) // 2)) ** 2 / sigma**2)
        self.yf = np.fft.fft(label)
        self.window = scale_window(s)
        self.template: np.ndarray | None = None

    def init(self, image: np.ndarray, center: Sequence[float], base_size: Sequence[float],
             scale: float = 1.0, limits: tuple[float, float] | None = None) -> None:
        self.template = None
        super().init(image, center, base_size, scale, limits)

    def _raw(self, image: np.ndarray, center: Sequence[float]) -> np.ndarray:
        """The ``D x S`` fHOG vectors of the scale patches (unwindowed)."""
        patches = self.patches(image, center)
        feats = np.asarray(self.feature(patches), dtype=np.float64).reshape(len(patches), -1)
        return feats.T

    def response(self, image: np.ndarray, center: Sequence[float]) -> np.ndarray:
        """The response over the ``n_interp_scales`` interpolated scales (index 0 = no change)."""
        if self.num is None:
            raise RuntimeError("FDSSTScaleFilter.response before init")
        xs = (self.basis @ self._raw(image, center)) * self.window
        rf = (self.num * np.fft.fft(xs, axis=1)).sum(0) / (self.den + self.params.lam)
        return np.fft.ifft(interp_dft(rf, self.params.n_interp_scales)).real

    def estimate(self, image: np.ndarray, center: Sequence[float]) -> float:
        """The new absolute scale (clamped to ``limits``): the interpolated response's peak,
        refined by a parabola in the scale factor through its neighbours (ECO ``do_poly_interp``)."""
        r = self.response(image, center)
        n = len(r)
        best = int(np.argmax(r))
        idx = [(best - 1) % n, best, (best + 1) % n]
        xs, ys = self.interp_factors[idx], r[idx]
        a = np.vstack([xs**2, xs, np.ones(3)]).T
        try:
            c2, c1, _ = np.linalg.solve(a, ys)
            change = -c1 / (2 * c2) if c2 < 0 else xs[1]
        except np.linalg.LinAlgError:
            change = xs[1]
        if not (math.isfinite(change) and xs.min() <= change <= xs.max()):
            change = xs[1]
        self.scale = float(np.clip(self.scale * change, *self.limits))
        return self.scale

    def update(self, image: np.ndarray, center: Sequence[float], rate: float | None = None) -> None:
        """Running template of the raw scale sample; numerator from its QR basis, denominator from
        the current sample's own basis (TPAMI 2017 sec. 5.1, ECO ``scale_filter_update.m``)."""
        xs = self._raw(image, center)
        eta = self.params.learning_rate if rate is None else rate
        self.template = xs if self.template is None else (1 - eta) * self.template + eta * xs
        self.basis = np.linalg.qr(self.template)[0].T                # S x D
        num = np.fft.fft((self.basis @ self.template) * self.window, axis=1)
        self.num = self.yf[None, :] * num.conj()
        own = np.linalg.qr(xs)[0].T
        xsf = np.fft.fft((own @ xs) * self.window, axis=1)
        den = (xsf * xsf.conj()).real.sum(0)
        self.den = den if self.den is None else (1 - eta) * self.den + eta * den
