"""UDT (Wang, Song, Ma, Zhou, Liu, Li: "Unsupervised Deep Tracking", CVPR 2019) and DCFNet
(Wang et al., arXiv 2017): a two-layer conv net whose features feed a linear-kernel correlation
filter, solved in closed form in the Fourier domain (UDT eq. 1-2; the core's
:mod:`regtrack.core.dcf`).

Tracking follows the authors' MATLAB tracker ``tracker/UDT/runfiles/run_UDT.m`` (594422814/UDT,
commit 77ef59c), the one that produced the published OTB results:

* a ``(1 + padding)``-times-target window, resampled to 125x125, minus the net's mean; features
  times a cosine window; the filter ``alphaf = yf / (kxxf + lambda)`` with the kernel divided by
  ``numel(xf)`` (``kf = sum(xf .* conj(xf), 3) / numel_xf``);
* three scales ``step^{-1, 0, 1}``; the peak of each scale's response, the non-centre scales'
  peaks multiplied by ``scale_penalty``, the best one wins; integer peak, no sub-pixel step;
* the new size is the chosen window over ``1 + padding``, clamped to
  ``[max(4, 0.2 * initial), min(image, 5 * initial)]``;
* a fresh patch at the new position and scale updates ``xf`` and ``alphaf`` with rate 0.01.

``run_UDT.m`` sets padding 1.8, scale step 1.015 and scale penalty 1.2 for UDT (its
``DCFNet_initialize`` defaults, padding 2.0, step 1.0275, penalty 0.9925, are DCFNet's and are the
``dcfnet`` tracker's defaults). UDT_pytorch's ``TrackerConfig`` uses the DCFNet values; we follow
the MATLAB code because the published UDT numbers came from it. Patches are sampled without the
anti-aliasing blur (``vl_nnbilinearsampler`` has none).
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from regtrack.core import dcf
from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.labels import gaussian_label, hann_window, output_sigma
from regtrack.core.sampling import sample_patch
from regtrack.errors import RegtrackError
from regtrack.features.udt_net import UDTNet, load_udt_weights
from regtrack.trackers.base import Tracker, register_tracker

#: regtrack's own unsupervised model, trained on ../shared/data/train (see udt_regtrack.md).
DEFAULT_WEIGHTS = "udt_regtrack.pth"


def default_weights_path() -> Path:
    """The packaged weights ``regtrack/data/udt_regtrack.pth``."""
    return Path(str(resources.files("regtrack") / "data" / DEFAULT_WEIGHTS))


@dataclasses.dataclass
class UDTParams:
    """UDT's tracking hyperparameters, defaults from ``run_UDT.m`` (UDT, CVPR 2019)."""

    weights: str | None = None  # None: regtrack's own model (regtrack/data/udt_regtrack.pth)
    input_size: int = 125  # net input, pixels (init_UDT.m)
    padding: float = 1.8  # window = (1 + padding) x target (run_UDT.m, commit 77ef59c)
    lam: float = 1e-4  # ridge regulariser lambda (UDT eq. 1)
    output_sigma_factor: float = 0.1  # label sigma = sqrt(prod(input/(1+padding))) * 0.1
    interp_factor: float = 0.01  # model learning rate
    num_scales: int = 3
    scale_step: float = 1.015
    scale_penalty: float = 1.2  # multiplies the non-centre scales' peaks (run_UDT.m; >1 as published)
    min_scale_factor: float = 0.2
    max_scale_factor: float = 5.0
    normalize_kernel: bool = True  # divide the linear kernel by numel(xf), as run_UDT.m does
    threads: int = 0  # torch threads for the net; 0: leave torch's setting alone
    # Re-use the chosen scale's search features, shifted by the (integer) displacement, for the
    # model update instead of cropping and running the net again (run_UDT.m does the latter).
    # The new patch is exactly the search patch shifted by whole pixels, so only a border strip
    # |shift| + 2 px wide differs (zero here), where the cosine window is ~0. ~25 % faster.
    reuse_features: bool = True


@dataclasses.dataclass
class DCFNetParams(UDTParams):
    """DCFNet's tracking defaults (``DCFNet_initialize`` in run_UDT.m / DCFNet's run_DCFNet.m)."""

    padding: float = 2.0
    scale_step: float = 1.0275
    scale_penalty: float = 0.9925


def _resolve_weights(name: str, weights: str | None) -> str:
    if weights:
        return weights
    if name == "udt":
        path = default_weights_path()
        if path.is_file():
            return str(path)
        raise RegtrackError(
            "regtrack's packaged UDT weights are missing",
            path=path,
            fix="reinstall regtrack, or pass --param weights=PATH",
        )
    raise RegtrackError(
        f"tracker {name!r} needs a weights file",
        fix="pass --param weights=PATH (e.g. ../shared/weights/dcfnet/DCFNet-net-7-125-2.mat)",
    )


_NET_CACHE: dict[tuple[str, float], UDTNet] = {}


def _load_net(path: str) -> UDTNet:
    """Load once per process (eval runs build one tracker per sequence)."""
    p = Path(path)
    key = (str(p.resolve()), p.stat().st_mtime if p.exists() else 0.0)
    if key not in _NET_CACHE:
        _NET_CACHE[key] = load_udt_weights(p, padding=1)
    return _NET_CACHE[key]


@register_tracker("udt")
class UDTTracker(Tracker):
    """UDT: unsupervised features + a correlation filter, three scales. See the module doc."""

    name = "udt"
    Params = UDTParams

    def __init__(
        self, params: UDTParams | None = None, net: UDTNet | None = None, **overrides: object
    ) -> None:
        super().__init__(params, **overrides)
        p = self.params
        self.net = net if net is not None else _load_net(_resolve_weights(self.name, p.weights))
        self.net.set_padding(1).eval()
        n = p.input_size
        self.out_size = (n, n)
        sigma = output_sigma(np.array([n, n]) / (1.0 + p.padding), p.output_sigma_factor)
        # The filter runs in NumPy (scipy.fft is about twice as fast as torch.fft on a CPU for 125x125).
        self.yf = dcf.fft2(gaussian_label(n, n, sigma))
        self.window = hann_window(n, n)
        half = (p.num_scales - 1) / 2.0  # symmetric exponents (-1, 0, 1); cf. the Python-3 bug in §1.5
        self.scale_factors = p.scale_step ** (np.arange(p.num_scales) - half)
        self.penalties = np.where(np.arange(p.num_scales) == p.num_scales // 2, 1.0, p.scale_penalty)
        self.n_elements = 32 * n * n if p.normalize_kernel else None

    # -- helpers -------------------------------------------------------------------------------
    def _features(self, patches: np.ndarray) -> np.ndarray:
        if self.params.threads:
            torch.set_num_threads(self.params.threads)
        return self.net.extract(patches).numpy()

    def _learn(
        self, image: np.ndarray | None, window_sz: np.ndarray, feats: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if feats is None:
            patch = sample_patch(image, self.center, window_sz, self.out_size, antialias=False)
            feats = self._features(patch[None])[0]
        xf = dcf.fft2(feats * self.window)
        kxxf = dcf.linear_kernel(xf, xf, self.n_elements)
        return xf, dcf.solve_alpha(kxxf, self.yf, self.params.lam)

    # -- API -----------------------------------------------------------------------------------
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        p = self.params
        self.center, self.size = otb_to_center(box)
        self.min_size = np.maximum(4.0, p.min_scale_factor * self.size)
        self.max_size = np.minimum(
            np.array([image.shape[1], image.shape[0]], float), p.max_scale_factor * self.size
        )
        self.model_xf, self.model_alphaf = self._learn(image, self.size * (1.0 + p.padding))

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        p = self.params
        n = p.input_size
        windows = [self.size * s * (1.0 + p.padding) for s in self.scale_factors]
        patches = np.stack(
            [sample_patch(image, self.center, w, self.out_size, antialias=False) for w in windows]
        )
        feats = self._features(patches)
        zf = dcf.fft2(feats * self.window)
        kxzf = dcf.linear_kernel(self.model_xf, zf, self.n_elements)
        response = dcf.kernel_response(self.model_alphaf, kxzf, (n, n))  # S x n x n
        peaks = response.reshape(len(windows), -1).max(1)
        best = int(np.argmax(peaks * self.penalties))
        dy, dx, _ = dcf.peak_offset(response[best], subpixel=False)
        window = windows[best]
        # keep the centre on the image: a target that leaves is awaited at the border it left by
        self.center = clamp_center(self.center + np.array([dx, dy]) * window / n, self.frame_shape)
        self.size = np.minimum(np.maximum(window / (1.0 + p.padding), self.min_size), self.max_size)
        shifted = _shift(feats[best], int(round(dy)), int(round(dx))) if p.reuse_features else None
        xf, alphaf = self._learn(image, window, shifted)
        self.model_xf, self.model_alphaf = dcf.update_model(
            (self.model_xf, self.model_alphaf), (xf, alphaf), p.interp_factor)
        return center_to_otb(self.center, self.size)


@register_tracker("dcfnet")
class DCFNetTracker(UDTTracker):
    """DCFNet: the same tracker with DCFNet's supervised weights and its own defaults."""

    name = "dcfnet"
    Params = DCFNetParams


def _shift(feats: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``out[:, r, c] = feats[:, r + dy, c + dx]``, zero where that falls outside."""
    out = np.zeros_like(feats)
    h, w = feats.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[:, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = feats[
        :, max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)
    ]
    return out

