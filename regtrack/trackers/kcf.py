"""KCF: the Kernelized Correlation Filter (Henriques, Caseiro, Martins, Batista, "High-speed
tracking with kernelized correlation filters", TPAMI 2015), as the authors' MATLAB code runs it
(``run_tracker.m``, ``tracker.m``): fHOG on the grey image, 4-px cells, Gaussian kernel, one
scale.

Per frame (the one-way data flow): cut the ``(1 + padding)`` x target window at the last
centre, fHOG times a cosine window, kernel correlation with the model (eq. 30-31), response
``ifft(alphaf * kzf)`` (eq. 22), move to its peak; then train at the new centre
(``alphaf = yf / (kxxf + lambda)``, eq. 17) and interpolate the model with rate
``interp_factor``. Large targets (``sqrt(w h) >= 100``) are tracked at half resolution.

Additions that do not change the paper's tracker on ordinary input, for robustness: frames may
be grey, RGB or RGBA; a target of a few pixels is upsampled to at least ``min_cells`` cells; the
centre stays on the image (a target that leaves is awaited at the border it left by).

Boxes in and out are OTB ``[x, y, w, h]`` (1-based); internally the centre is 0-based
``(cx, cy)`` (:mod:`regtrack.core.box`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from regtrack.core import dcf
from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.labels import gaussian_label, hann_window, model_window, output_sigma
from regtrack.core.sampling import sample_patch
from regtrack.errors import RegtrackError
from regtrack.features.base import Feature
from regtrack.trackers.base import Tracker, hyper, register_tracker


@dataclasses.dataclass
class KCFParams:
    """KCF's hyperparameters; defaults are the paper's HOG setting (TPAMI 2015, sec. 6.1;
    ``run_tracker.m``: ``'gaussian'``, ``'hog'``). For the raw-pixel variant set
    ``feature='gray', cell_size=1, kernel_sigma=0.2, interp_factor=0.075``."""

    padding: float = hyper(1.5, ge=0, le=20, doc="window = target x (1 + padding) (KCF sec. 6.1)")
    lam: float = hyper(1e-4, gt=0, le=1e3, doc="ridge regularisation lambda (eq. 17)")
    output_sigma_factor: float = hyper(0.1, gt=0, le=10, doc="label sigma = sqrt(w h) x factor / cell_size")
    interp_factor: float = hyper(0.02, ge=0, le=1, doc="model update rate (0: never update)")
    kernel: str = hyper("gaussian", choices=("gaussian", "linear"), doc="kernel correlation, eq. 30 or 31")
    kernel_sigma: float = hyper(0.5, gt=0, le=100, doc="Gaussian kernel bandwidth (eq. 30)")
    feature: str = hyper("hog", choices=("hog", "gray"), doc="fHOG on grey (31 ch), or grey intensity")
    cell_size: int = hyper(4, ge=1, le=64, doc="feature stride in pixels")
    downscale_above: float = hyper(100.0, gt=0, doc="halve the resolution when sqrt(w h) >= this (px)")
    subpixel: bool = hyper(False, doc="parabolic sub-cell peak (the paper uses the integer peak)")
    min_cells: int = hyper(4, ge=0, le=256,
                           doc="upsample tiny targets to at least this many cells (robustness)")
    fft_friendly: bool = hyper(False, doc="round the window up to a fast FFT size (+5 % fps)")


def make_feature(name: str, cell_size: int) -> Feature:
    """The feature named in KCF's parameters: fHOG on the grey image, or grey intensity
    (``x/255`` minus its mean, KCF's ``get_features.m``)."""
    from regtrack.features.handcrafted import FHog, Grey

    if name == "hog":
        return FHog(cell_size, gray=True)
    if name == "gray":
        return Grey(cell_size, center="mean")
    raise RegtrackError(f"KCF feature {name!r} is unknown", fix="use feature=hog or feature=gray")


@register_tracker("kcf")
class KCF(Tracker):
    """Kernelized Correlation Filter (TPAMI 2015). See the module docstring."""

    name = "kcf"
    Params = KCFParams

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        p = self.params
        self.center, self.size = otb_to_center(box)
        self.feature = make_feature(p.feature, p.cell_size)
        self.window, self.factor = model_window(self.size, p.padding, p.cell_size, p.downscale_above,
                                                p.min_cells, fft_friendly=p.fft_friendly)
        gw, gh = (int(v) for v in self.window // p.cell_size)
        self.grid = (gh, gw)
        self.cos_window = hann_window(gh, gw)
        sigma = output_sigma(self.size / self.factor, p.output_sigma_factor, p.cell_size)
        self.yf = dcf.fft2(gaussian_label(gh, gw, sigma))
        self.model_x = self.model_xf = self.model_alphaf = None
        self.last_response: np.ndarray | None = None
        self._train(self._sample(image, self.center), first=True)

    # -- the steps --------------------------------------------------------------------------
    def _sample(self, image: np.ndarray, center: np.ndarray) -> np.ndarray:
        """Features of the search window at ``center``: ``C x gh x gw``, cosine-windowed."""
        patch = sample_patch(image, center, self.window * self.factor, tuple(int(v) for v in self.window))
        feats = self.feature(patch)[:, : self.grid[0], : self.grid[1]]
        return (feats * self.cos_window).astype(np.float32)

    def _kernel(self, x: np.ndarray, z: np.ndarray, xf: np.ndarray, zf: np.ndarray) -> np.ndarray:
        """Kernel correlation spectrum ``k^{xz}`` (KCF eq. 30 Gaussian, eq. 31 linear)."""
        if self.params.kernel == "gaussian":
            return dcf.gaussian_kernel(x, z, xf, zf, self.params.kernel_sigma)
        return dcf.linear_kernel(xf, zf, x.size)

    def _train(self, x: np.ndarray, first: bool = False) -> None:
        xf = dcf.fft2(x)
        alphaf = dcf.solve_alpha(self._kernel(x, x, xf, xf), self.yf, self.params.lam)
        old = None if first else (self.model_x, self.model_xf, self.model_alphaf)
        self.model_x, self.model_xf, self.model_alphaf = dcf.update_model(
            old, (x, xf, alphaf), self.params.interp_factor)

    def detect(self, image: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, float]:
        """The target's displacement from ``center`` in image pixels ``(dx, dy)`` and the peak."""
        z = self._sample(image, center)
        zf = dcf.fft2(z)
        response = dcf.kernel_response(self.model_alphaf, self._kernel(self.model_x, z, self.model_xf, zf),
                                       self.grid)
        self.last_response = response
        dy, dx, peak = dcf.peak_offset(response, subpixel=self.params.subpixel)
        return np.array([dx, dy]) * self.params.cell_size * self.factor, peak

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        shift, _ = self.detect(image, self.center)
        self.center = clamp_center(self.center + shift, self.frame_shape)
        self._train(self._sample(image, self.center))
        return center_to_otb(self.center, self.size)

