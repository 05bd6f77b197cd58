"""The DSST one-dimensional scale filter (Danelljan, Haeger, Khan, Felsberg, "Accurate scale
estimation for robust visual tracking", BMVC 2014, sec. 2.3; authors' ``dsst.m``,
``get_scale_sample.m``).

At the target centre, ``S`` patches of ``base_size * scale * a**k`` (``k = S//2 .. -S//2``) are
cut, each resized to one small *model size* (at most ``model_max_area`` pixels, aspect kept),
turned into a feature vector (fHOG by default) and multiplied by a Hann window over the scales.
Stacked, they form a ``D x S`` sample; a ridge-regression (MOSSE-form) filter learned in the
Fourier domain along the scale axis against a Gaussian label centred on the current scale
gives, at the next frame, a 1-D response whose maximum is the relative scale change.

Usage (every tracker that estimates scale this way)::

    sf = ScaleFilter(ScaleParams(), feature=my_feature)   # feature: N x h x w x 3 -> N x C x h' x w'
    sf.init(image, center, base_size)        # base_size: target (w, h) at scale 1, pixels
    ...                                      # each later frame, after the translation step:
    scale = sf.estimate(image, center)       # new absolute scale factor (also sf.scale)
    sf.update(image, center)                 # learn at the new scale (both: sf.track)
    target_size = sf.size                    # base_size * scale

Centres are 0-based ``(cx, cy)`` and sizes ``(w, h)`` in image pixels
(:mod:`regtrack.core.box`). The filter formulas are :mod:`regtrack.core.dcf`'s ridge form
(BMVC 2014 eq. 5-6), applied to ``D x 1 x S`` maps so the 2-D FFT is the 1-D FFT over scales.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from regtrack.core import dcf
from regtrack.core.sampling import sample_patch

FeatureFn = Callable[[np.ndarray], np.ndarray]
"""``N x h x w x 3`` uint8 patches -> ``N x C x h' x w'`` float32 maps (a :class:`Feature`)."""


@dataclasses.dataclass
class ScaleParams:
    """DSST's scale-filter hyperparameters (BMVC 2014, sec. 4; ``run_tracker.m``)."""

    n_scales: int = 33                 # S, number of scales
    scale_step: float = 1.02           # a, scale increment factor
    scale_sigma_factor: float = 0.25   # label sigma = n_scales / sqrt(33) * factor (in scale steps)
    lam: float = 1e-2                  # regularisation lambda
    learning_rate: float = 0.025       # eta, running-average update rate
    model_max_area: float = 512.0      # patches are resized to at most this many pixels
    # "subpixel": scale_pyramid's warp at the exact centre; "pixel_grid": the authors' own
    # integer-pixel crops (pixel_grid_pyramid)
    sampling: str = "subpixel"


def scale_factors(n_scales: int, step: float) -> np.ndarray:
    """DSST's relative scales ``step ** (ceil(S/2) - s)``, ``s = 1..S``: descending, 1 in the
    middle (index ``S // 2`` for odd ``S``)."""
    s = np.arange(1, n_scales + 1)
    return step ** (math.ceil(n_scales / 2) - s).astype(np.float64)


def scale_label(n_scales: int, sigma_factor: float) -> np.ndarray:
    """The Gaussian label over the scales, peaking at the centre scale (``dsst.m``:
    ``sigma = S / sqrt(33) * scale_sigma_factor``)."""
    sigma = n_scales / math.sqrt(33.0) * sigma_factor
    ss = np.arange(1, n_scales + 1) - math.ceil(n_scales / 2)
    return np.exp(-0.5 * ss.astype(np.float64) ** 2 / sigma**2)


def scale_window(n_scales: int) -> np.ndarray:
    """Hann window over the scales (for even ``S``, ``hann(S+1)`` without its first value)."""
    if n_scales % 2 == 0:
        return np.hanning(n_scales + 1)[1:]
    return np.hanning(n_scales)


def scale_limits(window_size: Sequence[float], base_size: Sequence[float], image_shape: tuple[int, ...],
                 step: float) -> tuple[float, float]:
    """DSST's bounds on the scale factor (``dsst.m``): the smallest keeps the search window at
    least 5 px, the largest keeps the target no larger than the image. Sizes are ``(w, h)``."""
    window = np.maximum(np.asarray(window_size, dtype=np.float64), 1e-6)
    base = np.maximum(np.asarray(base_size, dtype=np.float64), 1e-6)
    H, W = image_shape[:2]
    lo = step ** math.ceil(math.log(max(5.0 / window.max(), 5.0 / window.min())) / math.log(step))
    hi = step ** math.floor(math.log(min(W / base[0], H / base[1])) / math.log(step))
    return float(lo), float(max(hi, lo))


def scale_model_size(base_size: Sequence[float], max_area: float) -> tuple[int, int]:
    """The ``(w, h)`` every scale patch is resized to: ``floor(base * min(1, sqrt(max_area/area)))``
    (``dsst.m``), at least 8 x 8 px so that a 4-px-cell feature has 2 x 2 cells."""
    w, h = float(base_size[0]), float(base_size[1])
    factor = min(1.0, math.sqrt(max_area / max(w * h, 1e-6)))
    return max(8, int(w * factor)), max(8, int(h * factor))


def scale_pyramid(image: np.ndarray, center: Sequence[float], base_size: Sequence[float],
                  scales: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Patches of ``base_size * s`` for each scale ``s`` around ``center``, each resized to
    ``out_size = (w, h)``: ``S x h x w x C`` uint8 (what :func:`regtrack.core.sampling.sample_pyramid`
    gives, faster). When the patches shrink by more than 2x, the region they cover is first
    reduced once with area averaging (as MATLAB's ``imresize``/``mexResize`` antialias), so
    that the 33 per-scale warps need no blur of their own."""
    base = np.asarray(base_size, dtype=np.float64)
    largest = base * float(np.max(scales))
    pre = float(np.min(largest / np.asarray(out_size, dtype=np.float64))) / 2.0  # keep each warp <= 2x
    if pre <= 1.0:
        return np.stack([sample_patch(image, center, base * s, out_size, antialias=False) for s in scales])
    # the region all patches lie in (+4 px), cut with replicated borders, then reduced once
    rw, rh = int(np.ceil(largest[0])) + 4, int(np.ceil(largest[1])) + 4
    region = sample_patch(image, center, (rw, rh), (rw, rh), antialias=False)
    sw, sh = max(1, round(rw / pre)), max(1, round(rh / pre))
    small = cv2.resize(region, (sw, sh), interpolation=cv2.INTER_AREA)
    fx, fy = rw / sw, rh / sh
    c = ((sw - 1) / 2.0, (sh - 1) / 2.0)  # the region's centre is the target centre
    return np.stack([sample_patch(small, c, (base[0] * s / fx, base[1] * s / fy), out_size, antialias=False)
                     for s in scales])


def pixel_grid_pyramid(image: np.ndarray, center: Sequence[float], base_size: Sequence[float],
                       scales: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """The authors' scale samples (DSST ``get_scale_sample.m``, ECO ``extract_scale_sample.m``):
    for each scale ``s``, the ``floor(base_size * s)`` pixels (at least 2) starting at
    ``floor(pos) - floor(n / 2) + 1`` (1-based ``pos``; edge pixels repeated outside the image),
    resized to ``out_size = (w, h)`` with area averaging when shrinking and bilinear when
    enlarging (``mexResize(.., 'auto')``). Every patch lies on the image's own pixel grid, so a
    sub-pixel move of the centre does not resample the 17-33 patches (``scale_pyramid`` does)."""
    ih, iw = image.shape[:2]
    out_w, out_h = int(out_size[0]), int(out_size[1])
    # 0-based: floor(cx + 1) + k - floor(n / 2) - 1 for k = 1..n
    start = np.floor(np.asarray(center, np.float64)).astype(np.int64) + 1
    sizes = [np.maximum(np.floor(np.asarray(base_size, np.float64) * s), 2).astype(np.int64) for s in scales]
    # The patches are nested (each spans start - n // 2 .. start + ceil(n / 2)): cut the largest
    # once (edge pixels repeated only where it leaves the image) and slice the others from it.
    big = np.max(sizes, axis=0)
    x0, y0 = start - big // 2
    if 0 <= x0 and x0 + big[0] <= iw and 0 <= y0 and y0 + big[1] <= ih:
        region = image[y0:y0 + big[1], x0:x0 + big[0]]
    else:
        xs = np.clip(x0 + np.arange(big[0]), 0, iw - 1)
        ys = np.clip(y0 + np.arange(big[1]), 0, ih - 1)
        region = image[ys[:, None], xs[None, :]]
    patches = []
    for n in sizes:
        ox, oy = big // 2 - n // 2
        shrink = n[0] * n[1] > out_w * out_h
        patches.append(cv2.resize(region[oy:oy + n[1], ox:ox + n[0]], (out_w, out_h),
                                  interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
    return np.stack(patches)


def _default_feature() -> FeatureFn:
    from regtrack.features.handcrafted import FHog

    return FHog(cell_size=4, scale=1.0)  # get_scale_sample.m: fhog(single(patch), 4), no /255


class ScaleFilter:
    """The DSST scale filter; see the module docstring for the call sequence.

    ``feature`` maps a batch of RGB uint8 patches ``N x h x w x 3`` to ``N x C x h' x w'``;
    default: fHOG, 31 channels, 4-px cells (as DSST's ``get_scale_sample.m``)."""

    def __init__(self, params: ScaleParams | None = None, feature: FeatureFn | None = None) -> None:
        self.params = params or ScaleParams()
        self.feature = feature or _default_feature()
        p = self.params
        self.factors = scale_factors(p.n_scales, p.scale_step)
        self.window = scale_window(p.n_scales)
        self.yf = dcf.fft2(scale_label(p.n_scales, p.scale_sigma_factor)[None, :])  # 1 x S'
        self.scale = 1.0
        self.num: np.ndarray | None = None
        self.den: np.ndarray | None = None

    @property
    def size(self) -> np.ndarray:
        """The current target size ``base_size * scale`` ``(w, h)`` in pixels."""
        return self.base_size * self.scale

    def init(self, image: np.ndarray, center: Sequence[float], base_size: Sequence[float],
             scale: float = 1.0, limits: tuple[float, float] | None = None,
             window_size: Sequence[float] | None = None) -> None:
        """Start on ``image`` with the target of ``base_size * scale`` at ``center``.
        ``limits`` = (min, max) scale factor; default :func:`scale_limits` with the tracker's
        search window ``window_size`` ``(w, h)`` px, or twice the target (DSST's padding 1)."""
        self.base_size = np.asarray(base_size, dtype=np.float64).copy()
        self.model_size = scale_model_size(self.base_size, self.params.model_max_area)
        window = 2.0 * self.base_size if window_size is None else window_size
        self.limits = limits or scale_limits(window, self.base_size, image.shape, self.params.scale_step)
        self.scale = float(np.clip(scale, *self.limits))
        self.num = self.den = None
        self.update(image, center)

    def patches(self, image: np.ndarray, center: Sequence[float]) -> np.ndarray:
        """The ``S`` patches around the current scale, each resized to ``model_size``
        (``params.sampling``: :func:`scale_pyramid` or :func:`pixel_grid_pyramid`)."""
        pyramid = pixel_grid_pyramid if self.params.sampling == "pixel_grid" else scale_pyramid
        return pyramid(image, center, self.base_size, self.scale * self.factors, self.model_size)

    def sample(self, image: np.ndarray, center: Sequence[float]) -> np.ndarray:
        """The windowed ``D x 1 x S`` scale sample at ``center`` around the current scale."""
        patches = self.patches(image, center)
        feats = np.asarray(self.feature(patches), dtype=np.float32).reshape(len(patches), -1)  # S x D
        return (feats * self.window[:, None].astype(np.float32)).T[:, None, :]

    def response(self, image: np.ndarray, center: Sequence[float]) -> np.ndarray:
        """The filter's response over the ``S`` scales (index ``S // 2`` = no change)."""
        if self.num is None:
            raise RuntimeError("ScaleFilter.response before init")
        zf = dcf.fft2(self.sample(image, center))
        return dcf.ridge_response(self.num, self.den, zf, self.params.lam, (1, self.params.n_scales))[0]

    def estimate(self, image: np.ndarray, center: Sequence[float]) -> float:
        """Find the scale at ``center`` in ``image``: sets and returns the new absolute scale
        factor (relative to ``base_size``), clamped to ``limits`` (BMVC 2014, sec. 2.3)."""
        best = int(np.argmax(self.response(image, center)))
        self.scale = float(np.clip(self.scale * self.factors[best], *self.limits))
        return self.scale

    def track(self, image: np.ndarray, center: Sequence[float]) -> float:
        """One frame of DSST's scale step at the new ``center``: :meth:`estimate`, then
        :meth:`update` at the scale found; returns the new absolute scale factor."""
        scale = self.estimate(image, center)
        self.update(image, center)
        return scale

    def update(self, image: np.ndarray, center: Sequence[float], rate: float | None = None) -> None:
        """Learn from the sample at ``center`` and the current scale: the running average of
        numerator and denominator (BMVC 2014 eq. 5), replaced outright on the first call."""
        xf = dcf.fft2(self.sample(image, center))
        num, den = dcf.ridge_numerator(xf, self.yf), dcf.ridge_denominator(xf)
        if self.num is None:
            self.num, self.den = num, den
        else:
            eta = self.params.learning_rate if rate is None else rate
            self.num = dcf.interpolate(self.num, num, eta)
            self.den = dcf.interpolate(self.den, den, eta)
