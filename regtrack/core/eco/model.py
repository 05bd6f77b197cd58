"""The ECO tracker loop (Danelljan et al., CVPR 2017; the authors' ``tracker.m``), with the
features as plug-ins: a :class:`FeatureBlock` per extractor (fHOG, colour names, a CNN layer),
each at its own cell size, projected to its own ``compressed_dim`` channels.

First frame: the search area is ``search_area_scale`` x the target (a square), sampled at between
``min_sample_size`` and ``max_sample_size`` pixels; each block's features are Lp-normalised,
cosine-windowed, transformed (:func:`~.fourier.cfft2`) and interpolated to the continuous domain
(:func:`~.fourier.to_continuous`); the projection ``P`` starts as PCA and is learned jointly with
the filter by Gauss-Newton (:func:`~.projection.train_joint`).

Each later frame: detect at the current position and scale (the continuous scores maximised by
Newton's method, :func:`~.detection.maximise_scores`), estimate the scale with fDSST
(:class:`~.fdsst.FDSSTScaleFilter`), add the detection sample (shifted onto the new position) to
the sample space (:class:`~.sample_space.SampleSpace`), and every ``train_gap + 1`` frames
(every frame before ``skip_after_frame``) run ``cg_iter`` CG iterations on the filter from the
current one (:func:`~.filter.train_filter`).

Centres are 0-based ``(cx, cy)``, sizes ``(w, h)`` in image pixels (:mod:`regtrack.core.box`).
``timings`` holds the CPU seconds spent per stage (summed over frames; on a shared machine the
CPU time is what a stage costs), ``train_times`` the CPU seconds of each training.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from contextlib import contextmanager

import cv2
import numpy as np

from regtrack.core.box import clamp_center
from regtrack.core.eco.detection import maximise_scores
from regtrack.core.eco.fdsst import FDSSTParams, FDSSTScaleFilter
from regtrack.core.eco.filter import preconditioner, scores, train_filter
from regtrack.core.eco.fourier import (
    cfft2,
    embed,
    full,
    gaussian_label_fourier,
    half,
    half_metric,
    shift_spectrum,
    to_continuous,
)
from regtrack.core.eco.projection import pca_projection, project, train_joint
from regtrack.core.eco.regularization import reg_window_filter
from regtrack.core.eco.sample_space import SampleSpace
from regtrack.core.labels import hann_window
from regtrack.core.sampling import pixel_grid_patch, sample_patch
from regtrack.core.scale import scale_limits


@dataclasses.dataclass
class FeatureBlock:
    """One feature extractor: ``extract`` maps a batch of RGB uint8 patches ``B x s x s x 3``
    (``s = cells * cell_size``) to float32 ``B x C x cells x cells``."""

    name: str
    extract: Callable[[np.ndarray], np.ndarray]
    cell_size: int
    compressed_dim: int
    colour_only: bool = False  # left out on grey sequences (ECO's colour names: useForGray = false)


@dataclasses.dataclass
class ECOSettings:
    """ECO's hyperparameters (names as the authors' ``testing_ECO*.m``); defaults ECO-HC's."""

    search_area_scale: float = 4.0
    min_sample_size: float = 150.0**2
    max_sample_size: float = 200.0**2
    output_sigma_factor: float = 1.0 / 16
    learning_rate: float = 0.009
    n_samples: int = 30
    train_gap: int = 5
    skip_after_frame: int = 10
    projection_reg: float = 1e-7
    cg_iter: int = 5
    cg_forgetting_rate: float = 50.0
    init_cg_iter: int = 150
    init_gn_iter: int = 10
    precond_data_param: float = 0.75
    precond_reg_param: float = 0.25
    precond_proj_param: float = 40.0
    reg_window_min: float = 1e-4
    reg_window_edge: float = 10e-3
    reg_window_power: float = 2.0
    reg_sparsity_threshold: float = 0.05
    interp_bicubic_a: float = -0.75
    newton_iterations: int = 5
    n_scales: int = 17
    n_interp_scales: int = 33
    scale_step: float = 1.02
    scale_sigma_factor: float = 1.0 / 16
    scale_learning_rate: float = 0.025
    scale_model_max_area: float = 32.0 * 16
    scale_lambda: float = 1e-2
    # "subpixel": sample_patch's antialiased warp at the exact centre; "pixel_grid": ECO's own
    # sample_patch.m, which scored lower on the 23 OTB targets (eco_hc 0.584 vs 0.608, RESULTS_eco.md)
    sampling: str = "subpixel"
    # the fDSST scale patches: "subpixel" (scale_pyramid) or "pixel_grid" (ECO's extract_scale_sample.m)
    scale_sampling: str = "subpixel"

    @classmethod
    def from_params(cls, params: object) -> ECOSettings:
        """The settings named like fields of ``params`` (a tracker's Params), the rest default."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dataclasses.asdict(params).items() if k in names})


def sample_support(search_area: float, cell_sizes: list[int]) -> int:
    """The sample's side in pixels: about ``search_area`` (a side), a multiple of the largest
    cell plus up to ``cell - 1`` pixels chosen so that as many blocks as possible get an odd number
    of cells (ECO's ``init_features.m``: odd sizes have a centre cell)."""
    big = max(cell_sizes)
    base = (1 + 2 * round(search_area / (2 * big))) * big
    best = max(range(big), key=lambda j: (sum((base + j) // c % 2 for c in cell_sizes), -j))
    return int(base + best)


def normalise(x: np.ndarray) -> np.ndarray:
    """ECO's feature normalisation (``normalize_power = 2``, ``normalize_size``,
    ``normalize_dim``): scale a ``C x N x M`` map to a mean square of 1, so that blocks of any
    size and depth weigh alike."""
    return x * np.float32(math.sqrt(x.size / (float(np.sum(x * x)) + 1e-12)))


class ECO:
    """The ECO tracker on ``blocks``; see the module docstring."""

    def __init__(self, blocks: list[FeatureBlock], settings: ECOSettings | None = None) -> None:
        self.blocks = list(blocks)
        self.s = settings or ECOSettings()
        self.timings: dict[str, float] = {}
        self.train_times: list[float] = []

    @contextmanager
    def _timed(self, stage: str):  # noqa: ANN202
        t0 = time.process_time()
        yield
        self.timings[stage] = self.timings.get(stage, 0.0) + time.process_time() - t0

    # -- features ----------------------------------------------------------------------------
    def _sample(self, image: np.ndarray, center: np.ndarray, scale: float
                ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Each block's normalised, windowed features at ``center`` and ``scale`` (``C x N x N``)
        and their continuous Fourier coefficients."""
        side = self.support * scale
        if self.s.sampling == "pixel_grid":
            patch = pixel_grid_patch(image, center, (side, side), (self.support, self.support))
        else:
            patch = sample_patch(image, center, (side, side), (self.support, self.support))
        maps, spectra = [], []
        for block, cells, window in zip(self.blocks, self.cells, self.cos_windows, strict=True):
            size = cells * block.cell_size
            p = patch if size == self.support else cv2.resize(patch, (size, size),
                                                              interpolation=cv2.INTER_LINEAR)
            x = normalise(np.asarray(block.extract(p[None])[0], np.float32)) * window
            maps.append(x)
            spectra.append(to_continuous(cfft2(x), self.s.interp_bicubic_a).astype(np.complex64))
        return maps, spectra

    # -- first frame -------------------------------------------------------------------------
    def init(self, image: np.ndarray, center: np.ndarray, target_size: np.ndarray) -> None:
        s = self.s
        grey = image.ndim == 2 or (np.array_equal(image[..., 0], image[..., 1])
                                   and np.array_equal(image[..., 0], image[..., 2]))
        if grey and not all(b.colour_only for b in self.blocks):
            self.blocks = [b for b in self.blocks if not b.colour_only]
        self.center = np.asarray(center, np.float64).copy()
        target = np.maximum(np.asarray(target_size, np.float64), 1.0)
        area = float(np.prod(target * s.search_area_scale))
        scale = 1.0
        if area > s.max_sample_size:
            scale = math.sqrt(area / s.max_sample_size)
        elif area < s.min_sample_size:
            scale = math.sqrt(area / s.min_sample_size)
        self.base_size = target / scale
        self.support = sample_support(math.sqrt(float(np.prod(self.base_size * s.search_area_scale))),
                                      [b.cell_size for b in self.blocks])
        self.cells = []
        for b in self.blocks:
            n = self.support // b.cell_size
            self.cells.append(int(n - (1 - n % 2)))  # odd
        n_out = max(self.cells)
        self.out_shape = (n_out, n_out)
        self.cos_windows = [hann_window(n + 2, n + 2)[1:-1, 1:-1] for n in self.cells]
        sigma = math.sqrt(float(np.prod(np.floor(self.base_size)))) * s.output_sigma_factor / self.support
        self.yf_out = gaussian_label_fourier(n_out, n_out, sigma)
        # the filter's training, the sample space and detection work on half spectra (fourier.half)
        self.half_shape = (n_out, n_out // 2 + 1)
        self.yf = [half(self.yf_out[embed(np.empty((n, n)), self.out_shape)]) for n in self.cells]
        reg = reg_window_filter(self.support, self.base_size, s.reg_window_min, s.reg_window_edge,
                                s.reg_window_power, s.reg_sparsity_threshold)
        self.reg = [reg] * len(self.blocks)
        self.reg_energy = [float(np.sum(reg * reg))] * len(self.blocks)

        self.scale_filter = FDSSTScaleFilter(FDSSTParams(
            n_scales=s.n_scales, n_interp_scales=s.n_interp_scales, scale_step=s.scale_step,
            scale_sigma_factor=s.scale_sigma_factor, lam=s.scale_lambda, learning_rate=s.scale_learning_rate,
            model_max_area=s.scale_model_max_area, sampling=s.scale_sampling))
        limits = scale_limits((self.support, self.support), self.base_size, image.shape, s.scale_step)
        self.scale_filter.init(image, self.center, self.base_size, scale=scale, limits=limits)

        with self._timed("features"):
            sample_center = self._sample_center()
            maps, xf = self._sample(image, sample_center, self.scale)
            if not np.array_equal(sample_center, self.center):  # tracker.m: the first sample shifted
                offset = (self.center - sample_center)[::-1] / (self.support * self.scale)  # onto the target
                xf = [shift_spectrum(x, tuple(offset)) for x in xf]
        with self._timed("train"):
            t0 = time.process_time()
            self.projection = [pca_projection(x, b.compressed_dim)
                               for x, b in zip(maps, self.blocks, strict=True)]
            z = [project(x, p) for x, p in zip(xf, self.projection, strict=True)]
            self.sample_energy = [(v * v.conj()).real for v in z]
            self.hf = [np.zeros_like(v) for v in z]
            precond = preconditioner(self.sample_energy, self.reg_energy, s.precond_data_param,
                                     s.precond_reg_param)
            n_cg = max(1, s.init_cg_iter // max(s.init_gn_iter, 1))
            self.hf, self.projection, self.residuals = train_joint(
                xf, self.projection, self.hf, self.yf_out, self.reg, s.projection_reg, s.init_gn_iter, n_cg,
                precond, s.precond_proj_param, self.out_shape)
            self.hf = [half(f) for f in self.hf]
            z = [half(project(x, p)) for x, p in zip(xf, self.projection, strict=True)]
            self.samples = SampleSpace(s.n_samples, s.learning_rate, metric=[half_metric(v) for v in z])
            self.samples.add(z)  # the first sample, with the learned projection
            # ECO's tracker.m keeps the PCA-projected sample's energy here and moves it on training
            # frames only; with that, Bolt2 drifts from frame 2 (ECO-HC AUC 0.61 -> 0.03): our
            # Gauss-Newton grows P's columns to norms 1.2-2.7, so that energy underestimates the
            # samples' 2-5x. The re-projected sample's energy instead, updated every frame.
            self.sample_energy = [(v * v.conj()).real for v in z]
            self.train_times.append(time.process_time() - t0)
        self.frames_since_train = 0
        self.cg_state: dict = {}
        self.frame = 1
        self.last_scores: np.ndarray | None = None

    def _sample_center(self) -> np.ndarray:
        """Where the sample is cut: the rounded position (ECO's ``sample_pos = round(pos)``), or the
        position itself with ``sampling="subpixel"``; the displacement found is measured from it."""
        return np.floor(self.center + 0.5) if self.s.sampling == "pixel_grid" else self.center.copy()

    @property
    def scale(self) -> float:
        return self.scale_filter.scale

    @property
    def size(self) -> np.ndarray:
        """The target's current ``(w, h)`` in pixels."""
        return self.base_size * self.scale

    # -- later frames -----------------------------------------------------------------------
    def track(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Find the target in ``image``, learn from it; returns the new centre and size."""
        s = self.s
        self.frame += 1
        scale = self.scale
        with self._timed("features"):
            sample_center = self._sample_center()
            _, xf = self._sample(image, sample_center, scale)
        with self._timed("detect"):
            z = [half(project(x, p)) for x, p in zip(xf, self.projection, strict=True)]
            sf = full(scores(self.hf, z, self.half_shape, half=True))
            ty, tx, _ = maximise_scores(sf, s.newton_iterations)
            self.last_scores = sf
            shift = np.array([tx, ty]) * self.support * scale
            self.center = clamp_center(sample_center + shift, image.shape[:2])
        with self._timed("scale"):
            self.scale_filter.estimate(image, self.center)
        with self._timed("sample_space"):
            z = [shift_spectrum(v, (ty, tx), half=True) for v in z]  # ECO's use_detection_sample
            self.samples.add(z)
            lr = s.learning_rate
            self.sample_energy = [(1 - lr) * e + lr * (v * v.conj()).real
                                  for e, v in zip(self.sample_energy, z, strict=True)]
        if self.frame < s.skip_after_frame or self.frames_since_train >= s.train_gap:
            with self._timed("train"):
                t0 = time.process_time()
                samples, weights = self.samples.used()
                precond = preconditioner(self.sample_energy, self.reg_energy, s.precond_data_param,
                                         s.precond_reg_param)
                self.hf, _ = train_filter(self.hf, samples, weights, self.yf, self.reg, precond,
                                          self.half_shape, s.cg_iter, half=True, state=self.cg_state,
                                          forget=(1 - s.learning_rate) ** s.cg_forgetting_rate)
                self.train_times.append(time.process_time() - t0)
            self.frames_since_train = 0
        else:
            self.frames_since_train += 1
        with self._timed("scale"):
            self.scale_filter.update(image, self.center)
        return self.center.copy(), self.size.copy()
