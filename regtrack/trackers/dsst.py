"""DSST: the Discriminative Scale Space Tracker (Danelljan, Haeger, Khan, Felsberg, "Accurate
scale estimation for robust visual tracking", BMVC 2014), as the authors' MATLAB code runs it
(``dsst.m``, ``get_translation_sample.m``, ``get_feature_map.m``, ``run_tracker.m``).

Two filters in the ridge (MOSSE) form of BMVC 2014 eq. 5-6:

* a translation filter on a ``2 x`` target window (padding 1) with 28 channels per pixel
  (grey ``x/255 - 0.5`` and the 27 orientation channels of fHOG at 1-px cells), cosine-windowed;
* the 1-D scale filter of :mod:`regtrack.core.scale` (33 scales, step 1.02).

Per frame: detect the translation at the current scale, move; estimate the scale at the new
centre; learn both filters there (rate 0.025).

Departures from ``dsst.m``, none of which matter on ordinary input: the translation window is
rounded up to an FFT-friendly size by default (``fft_friendly``; a window of 73 px, prime, costs
several times more to transform than one of 75), positions are sub-pixel rather than rounded, and
the robustness rules of :mod:`regtrack.trackers.kcf` (any frame type, tiny targets upsampled,
centre kept on the image) apply.

Boxes in and out are OTB ``[x, y, w, h]`` (1-based); the centre is 0-based ``(cx, cy)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from regtrack.core import dcf
from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.labels import gaussian_label, hann_window, model_window, output_sigma
from regtrack.core.sampling import sample_patch
from regtrack.core.scale import ScaleFilter, ScaleParams
from regtrack.features.handcrafted import Concat, FHog, Grey
from regtrack.trackers.base import Tracker, hyper, register_tracker


@dataclasses.dataclass
class DSSTParams:
    """DSST's hyperparameters; defaults are the paper's (BMVC 2014 sec. 4, ``run_tracker.m``)."""

    padding: float = hyper(1.0, ge=0, le=20, doc="window = target x (1 + padding)")
    output_sigma_factor: float = hyper(1.0 / 16, gt=0, le=10,
                                       doc="translation label sigma = sqrt(w h) x factor")
    lam: float = hyper(1e-2, gt=0, le=1e3, doc="regularisation lambda of both filters (eq. 4)")
    learning_rate: float = hyper(0.025, ge=0, le=1, doc="learning rate eta of both filters (eq. 5)")
    n_scales: int = hyper(33, ge=1, le=99, doc="number of scales S of the scale filter")
    scale_step: float = hyper(1.02, gt=1, le=2, doc="scale factor a between neighbouring scales")
    scale_sigma_factor: float = hyper(0.25, gt=0, le=10, doc="scale label sigma = S / sqrt(33) x factor")
    scale_model_max_area: float = hyper(512.0, ge=16, le=4096,
                                        doc="scale patches are resized to at most this area (px)")
    translation_model_max_area: float | None = hyper(None, ge=16, le=1e6,
                                                     doc="cap on the window area (fDSST); none = the paper")
    subpixel: bool = hyper(False, doc="parabolic sub-pixel translation peak (not in the paper)")
    min_cells: int = hyper(16, ge=0, le=1024,
                           doc="upsample tiny targets to a window of this many px (robustness)")
    # the paper's exact window: fft_friendly=False
    fft_friendly: bool = hyper(True, doc="round the window up to a fast FFT size (+16 % fps)")


@register_tracker("dsst")
class DSST(Tracker):
    """Discriminative Scale Space Tracker (BMVC 2014). See the module docstring."""

    name = "dsst"
    Params = DSSTParams

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        p = self.params
        self.center, self.base_size = otb_to_center(box)
        self.feature = Concat([Grey(1, center="half"), FHog(1, scale=1.0, channels=27)])
        self.window, self.factor = model_window(self.base_size, p.padding, 1, None, p.min_cells,
                                                p.translation_model_max_area, fft_friendly=p.fft_friendly)
        gw, gh = (int(v) for v in self.window)
        self.grid = (gh, gw)
        self.cos_window = hann_window(gh, gw)
        sigma = output_sigma(self.base_size / self.factor, p.output_sigma_factor)
        self.yf = dcf.fft2(gaussian_label(gh, gw, sigma))
        self.scale_filter = ScaleFilter(ScaleParams(p.n_scales, p.scale_step, p.scale_sigma_factor, p.lam,
                                                    p.learning_rate, p.scale_model_max_area))
        self.scale_filter.init(image, self.center, self.base_size, window_size=self.window * self.factor)
        self.num = self.den = None
        self.last_response: np.ndarray | None = None
        self._train(image)

    @property
    def scale(self) -> float:
        return self.scale_filter.scale

    @property
    def size(self) -> np.ndarray:
        """Current target size ``(w, h)`` in pixels."""
        return self.base_size * self.scale

    def _sample(self, image: np.ndarray, center: np.ndarray) -> np.ndarray:
        """Translation features at ``center`` and the current scale: ``28 x gh x gw``, windowed."""
        patch = sample_patch(image, center, self.window * self.factor * self.scale,
                             tuple(int(v) for v in self.window))
        return (self.feature(patch) * self.cos_window).astype(np.float32)

    def _train(self, image: np.ndarray) -> None:
        xf = dcf.fft2(self._sample(image, self.center))
        num, den = dcf.ridge_numerator(xf, self.yf), dcf.ridge_denominator(xf)
        old = None if self.num is None else (self.num, self.den)
        self.num, self.den = dcf.update_model(old, (num, den), self.params.learning_rate)

    def detect(self, image: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, float]:
        """The target's displacement from ``center`` in image pixels ``(dx, dy)`` and the peak."""
        zf = dcf.fft2(self._sample(image, center))
        response = dcf.ridge_response(self.num, self.den, zf, self.params.lam, self.grid)
        self.last_response = response
        dy, dx, peak = dcf.peak_offset(response, subpixel=self.params.subpixel)
        return np.array([dx, dy]) * self.factor * self.scale, peak

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        shift, _ = self.detect(image, self.center)
        self.center = clamp_center(self.center + shift, self.frame_shape)
        self.scale_filter.estimate(image, self.center)
        self._train(image)
        self.scale_filter.update(image, self.center)
        return center_to_otb(self.center, self.size)
