"""CREST: Convolutional Residual learning for visual Tracking (Song, Ma, Gong, Zhang, Lau, Yang,
ICCV 2017), as the authors' MATLAB code runs it (``CREST_tracking.m``, ``initNet.m``,
``scale_estimation.m``, ``L2normLoss.m``, ``cnn_train_dag*.m``).

The correlation filter becomes one convolutional layer, learnt by gradient descent, and two
residual branches correct it (:mod:`regtrack.core.regression`).

First frame:

1. downscale: if the target's area exceeds ``resize^2`` (100^2), work at ``resize / max(w, h)``;
2. cut a square window of 5x the target's longer side (odd), run VGG-16 to conv4_3 without its
   third pooling (``initVGG16Net.m``: stride 4, the 4-px cell grid itself; the map is resized to
   the odd grid ``ceil(window / 4)``), multiply by a Hann window;
3. fit PCA to 64 channels on these features (kept for the whole sequence);
4. train the head (base layer + spatial + temporal residual) with Adam against a Gaussian label
   (sigma 0.1 x target in cells) until CREST's reported loss < 0.02, at most 4000 iterations.

Each next frame (frame -> crop -> features -> response -> box -> update):

1. the same window at the last centre -> features -> the head's regression map, times a Gaussian
   motion prior (sigma 0.6 x target); move to its peak (4 px a cell);
2. scale: the windows of the target at scales ``[1, 0.95, 1.05]`` at the new centre, each
   resized to the first window's size, through the network; the size moves to the best scale
   (``0.4 old + 0.6 new``) only when the scale-1 peak exceeds 0.15 and another scale beats it;
3. the frame's features and the label shifted to the found peak join a buffer; every second
   frame the head trains 2 Adam iterations on the buffer (lr 2e-9) and the buffer empties.

Left out on purpose: ``config_list.m``'s per-sequence exceptions (``resize = 70`` for Jump,
Skater2, Girl2; trimmed frames for David, Tiger1, Board, Twinnings), which are tuning on the test
set. The search window keeps its first-frame size in (downscaled) pixels, as the code does.

Boxes in and out are OTB ``[x, y, w, h]`` (1-based); the centre is kept 0-based in image pixels,
sizes in the downscaled frame's pixels (:mod:`regtrack.core.box`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Iterator

import numpy as np
import torch

from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.labels import centered_gaussian_label, crest_search_window, hann_window, make_odd
from regtrack.core.losses import LOSSES, crest_l2_report, make_loss
from regtrack.core.regression import (
    RegressionHead,
    SampleBuffer,
    TrainResult,
    pca_projection,
    resize_maps,
    target_kernel_size,
    train_head,
)
from regtrack.core.sampling import sample_patch, zoom_feature_maps
from regtrack.core.scale import ScaleFilter, ScaleParams
from regtrack.features.backbones import vgg_stride4_trunk
from regtrack.runtime import select_device, warn_if_bfloat16_is_slow
from regtrack.trackers.base import Tracker, hyper, register_tracker

DEVICES = ("auto", "cpu", "cuda")


@dataclasses.dataclass
class CRESTParams:
    """CREST's hyperparameters; defaults are the released code's (reference.md §1.2)."""

    backbone: str = hyper("vgg16", choices=("vgg16", "vgg19"), doc="feature network (paper: VGG-16)")
    weights: str | None = hyper(None, doc="backbone weights file; None = the authors' VGG-16 (regtrack[vgg])")
    layer: str = hyper("conv4_3", doc="feature layer (paper: conv4_3, at stride 4 without pool3)")
    channels: int = hyper(64, ge=1, le=512, doc="PCA channels fitted on the first frame")
    search_factor: float = hyper(5.0, gt=1.0, le=20.0,
                                 doc="search window = factor x the target's longer side")
    resize: float = hyper(100.0, ge=16.0, le=1000.0,
                          doc="work at resize / max(w, h) when the target's area exceeds resize^2")
    max_window: float = hyper(1000.0, ge=64.0, le=4000.0,
                              doc="downscale further when the window would exceed this (robustness)")
    input_scale: float = hyper(1.0, gt=0.1, le=1.0,
                               doc="extra downscale of the network input (fast configuration; paper 1)")
    backbone_dtype: str = hyper("float32", choices=("float32", "bfloat16"),
                                doc="bfloat16: the backbone at twice the speed on CPUs with AVX-512 BF16 "
                                    "(emulated, far slower, on AVX2-only CPUs)")
    cell_size: int = hyper(4, ge=1, le=16, doc="cell grid of the regression map, px")
    output_sigma_factor: float = hyper(0.1, gt=0.0, le=2.0, doc="label sigma = factor x target in cells")
    label_alpha: float = hyper(0.3, gt=0.0, le=5.0, doc="label exp(-alpha d^2 / sigma^2) (code: 0.3)")
    label_alpha_large_square: float = hyper(0.2, gt=0.0, le=5.0,
                                            doc="alpha for near-square targets over 120 px (code: 0.2)")
    motion_sigma_factor: float = hyper(0.6, gt=0.0, le=10.0, doc="motion prior sigma = factor x target")
    init_lr: float = hyper(5e-8, gt=0.0, le=1.0, doc="first-frame Adam learning rate")
    init_weight_decay: float = hyper(1.0, ge=0.0, le=1e3, doc="first-frame weight decay (x layer factors)")
    init_iterations: int = hyper(4000, ge=1, le=100000, doc="first-frame iteration cap")
    init_stop_loss: float = hyper(0.02, ge=0.0, doc="first-frame training stops under this reported loss")
    update_interval: int = hyper(2, ge=1, le=1000, doc="train on the buffer every N frames")
    update_lr: float = hyper(2e-9, ge=0.0, le=1.0, doc="online-update Adam learning rate")
    update_weight_decay: float = hyper(1.0, ge=0.0, le=1e3, doc="online-update weight decay")
    update_iterations: int = hyper(2, ge=0, le=1000, doc="Adam iterations per online update")
    scales: tuple[float, ...] = hyper((1.0, 0.95, 1.05), gt=0.5, lt=2.0,
                                      doc="scale search, the first is the current size")
    scale_features: str = hyper("network", choices=("network", "zoom", "dsst"),
                                doc="network: each scale window through VGG (paper); zoom: resampled "
                                    "from the detection window's features (fast); dsst: no network "
                                    "pass, DSST's 1-D fHOG scale filter (fast)")
    scale_threshold: float = hyper(0.15, ge=0.0, le=10.0,
                                   doc="change the size only when the scale-1 peak exceeds this")
    scale_rate: float = hyper(0.6, ge=0.0, le=1.0, doc="size = (1 - rate) old + rate new")
    spatial_residual: bool = hyper(True, doc="the spatial residual branch (ablation: off)")
    temporal_residual: bool = hyper(True, doc="the temporal residual branch (ablation: off)")
    loss: str = hyper("crest", choices=LOSSES,
                      doc="crest (exp-weighted L2, 0.1 dead zone), l2, l3, shrinkage")
    device: str = hyper("auto", choices=DEVICES, doc="auto: CUDA when present, else CPU")
    seed: int = hyper(0, ge=0, doc="seed of the head's initial weights")


@register_tracker("crest")
class CRESTTracker(Tracker):
    """CREST (Song et al., ICCV 2017): a correlation filter learnt as a convolution, with residuals.

    See the module docstring. Hooks for pictures and benchmarks: after each frame,
    ``last_branches`` holds the head's branch outputs on the search window (``base``,
    ``spatial``, ``temporal``; ``H x W`` arrays) and ``last_patch`` the window itself (for
    ``regtrack show residual``); ``init_training`` is the first frame's :class:`TrainResult`;
    ``timings`` the process CPU seconds spent so far in the backbone, the first-frame training, the
    regression head and the online updates."""

    name = "crest"
    Params = CRESTParams

    def __init__(self, params: CRESTParams | None = None, **overrides: object) -> None:
        super().__init__(params, **overrides)
        p = self.params
        self.device = select_device(p.device)
        warn_if_bfloat16_is_slow(self.device, backbone_dtype=p.backbone_dtype)
        from regtrack.features.backbones import create_backbone

        self.backbone = create_backbone(p.backbone, p.weights)
        self.backbone.check_layers([p.layer])
        self.trunk = vgg_stride4_trunk(self.backbone, p.layer).to(memory_format=torch.channels_last)
        if self.device.type != "cpu":  # a private copy on the GPU; the shared backbone stays put
            self.trunk = copy.deepcopy(self.trunk).to(self.device)
        self.loss = make_loss(p.loss, label_weight=torch.exp if p.loss != "crest" else None)
        self.last_branches: dict[str, np.ndarray] = {}
        self.last_patch: np.ndarray | None = None
        self.init_training: TrainResult | None = None
        # process CPU seconds per stage since init: "where the time goes", robust to other load
        self.timings: dict[str, float] = dict.fromkeys(("backbone", "first_frame_training", "regression",
                                                        "updates", "scale_filter"), 0.0)

    # ------------------------------------------------------------------------------ features
    def _features(self, image: np.ndarray, center: np.ndarray, windows: list[float]
                  ) -> tuple[torch.Tensor, np.ndarray]:
        """The PCA-reduced features ``N x C x g x g`` of the square windows of sides ``windows``
        (downscaled pixels) at ``center`` (image pixels), each resized to the network input, and
        those inputs (CREST ``get_subwindow`` -> ``imresize`` -> VGG -> ``imResample`` ->
        ``* coeff``); one batch through the network. *Not* yet windowed: the Hann window (a
        per-pixel factor) commutes with the per-pixel projection, and the zoomed scale features
        are windowed after zooming; multiply by ``self.cos`` to get the features CREST regresses."""
        size = (self.net_input, self.net_input)
        patches = np.stack([sample_patch(image, center, (w / self.work_scale,) * 2, size) for w in windows])
        return self._project(self._raw_features(patches)), patches

    def _raw_features(self, patches: np.ndarray) -> torch.Tensor:
        """``N x 512 x g x g`` conv4_3 maps of ``patches`` (VGG without pool3: stride 4), on the
        cell grid."""
        start = time.process_time()
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.params.backbone_dtype == "bfloat16"):
            x = self.backbone.preprocess(patches).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            maps = self.trunk(x).float().contiguous()
        out = resize_maps(maps, (self.grid, self.grid))
        self.timings["backbone"] += time.process_time() - start
        return out

    def _project(self, feats: torch.Tensor) -> torch.Tensor:
        """PCA projection of ``N x C x g x g`` features (uncentred, as ``feat_ * coeff``)."""
        return torch.einsum("nchw,ck->nkhw", feats, self.coeff).contiguous()

    def _branches(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        start = time.process_time()
        with torch.inference_mode():
            out = self.head.branches(feats, self.first_features)
        self.timings["regression"] += time.process_time() - start
        return out

    def _regression(self, feats: torch.Tensor) -> torch.Tensor:
        """The head's regression maps ``N x 1 x g x g`` (the sum of its branches)."""
        return sum(self._branches(feats).values())  # type: ignore[return-value]

    # ------------------------------------------------------------------------------ init
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        p = self.params
        image, box = self._first_frame(image, box)
        self.center, size = otb_to_center(box)
        # CREST_tracking.m: downscale when the target's area exceeds resize^2
        self.work_scale = p.resize / float(size.max()) if float(np.prod(size)) > p.resize**2 else 1.0
        # robustness (not in the paper): a thin target's window is capped at max_window px
        self.work_scale = min(self.work_scale, p.max_window / (p.search_factor * float(size.max())))
        self.target_wh = np.round(size * self.work_scale)
        self.window = crest_search_window(self.target_wh[::-1], p.search_factor)
        self.grid = make_odd(math.ceil(self.window / p.cell_size))
        # the network input: the window itself, or smaller in the fast configuration
        self.net_input = max(32, round(self.window * p.input_scale))
        self.cos = torch.from_numpy(hann_window(self.grid, self.grid)).to(self.device)
        target_cells = np.ceil(self.target_wh[::-1] / p.cell_size)  # (h, w)
        square_large = size.max() / size.min() < 1.025 and size.max() > 120
        alpha = p.label_alpha_large_square if square_large else p.label_alpha
        self.label = torch.from_numpy(centered_gaussian_label(
            self.grid, self.grid, tuple(target_cells * p.output_sigma_factor), alpha))[None].to(self.device)
        self.motion_prior = centered_gaussian_label(self.grid, self.grid,
                                                    tuple(target_cells * p.motion_sigma_factor), alpha)
        side = self.window / self.work_scale
        patch = sample_patch(image, self.center, (side, side), (self.net_input, self.net_input))
        raw = self._raw_features(patch[None]) * self.cos
        coeff = pca_projection(raw[0].permute(1, 2, 0).cpu().numpy(), p.channels)
        self.coeff = torch.from_numpy(coeff).to(self.device)
        feats = self._project(raw)
        self.first_features = feats
        self.head = RegressionHead(p.channels, target_kernel_size(target_cells),
                                   spatial_residual=p.spatial_residual,
                                   temporal_residual=p.temporal_residual, seed=p.seed).to(self.device)
        start = time.process_time()
        self.init_training = train_head(
            self.head, (feats, feats), self.label[None], loss=self.loss, lr=p.init_lr,
            weight_decay=p.init_weight_decay, max_iterations=p.init_iterations, stop_below=p.init_stop_loss,
            report=crest_l2_report if p.loss == "crest" else None)
        self.head.eval()
        self.timings["first_frame_training"] = time.process_time() - start
        self.buffer = SampleBuffer(p.update_interval)
        self.last_patch = patch
        self.scale_filter: ScaleFilter | None = None
        if p.scale_features == "dsst":
            # the fast configuration's scale: DSST's filter (BMVC 2014; its paper settings, fHOG), as
            # HCF's CF2 code estimates scale, instead of CREST's three network passes a frame
            start = time.process_time()
            self.first_target_wh = self.target_wh.copy()
            self.scale_filter = ScaleFilter(ScaleParams())
            self.scale_filter.init(image, self.center, size, window_size=(self.window / self.work_scale,) * 2)
            self.timings["scale_filter"] += time.process_time() - start

    # ------------------------------------------------------------------------------ update
    def update(self, image: np.ndarray) -> np.ndarray:
        p = self.params
        image = self._next_frame(image)
        plain, patches = self._features(image, self.center, [self.window])
        feats = plain * self.cos
        branches = self._branches(feats)
        regression = sum(branches.values())[0, 0].cpu().numpy()
        self.last_branches = {k: v[0, 0].cpu().numpy() for k, v in branches.items()}
        self.last_patch = patches[0]
        response = regression * self.motion_prior
        if not np.isfinite(response).all():  # a diverged head: keep the last state
            return center_to_otb(self.center, self.target_wh / self.work_scale)
        # MATLAB's find(response == max) is column-major: the first maximum down the columns
        iy, ix = np.unravel_index(int(np.argmax(response.T)), response.T.shape)[::-1]
        delta = np.array([ix, iy]) - (self.grid - 1) // 2           # cells, (dx, dy)
        self.center = clamp_center(self.center + delta * p.cell_size / self.work_scale, image.shape)
        self.target_wh = self._estimate_scale(image, plain, delta)
        self._learn(feats, delta)
        return center_to_otb(self.center, self.target_wh / self.work_scale)

    def _estimate_scale(self, image: np.ndarray, detection: torch.Tensor, delta: np.ndarray) -> np.ndarray:
        """``scale_estimation.m``: the regression peak of the window at each scale (each window
        5x the scaled target, resized to the first window's size); the size stays when the
        scale-1 peak is under the threshold. ``detection``: the detection window's (unwindowed)
        features, ``delta`` the motion found in cells, for :meth:`_scale_features`.
        ``scale_features="dsst"`` (fast) replaces all of it by DSST's scale filter at the new centre
        (:class:`regtrack.core.scale.ScaleFilter`: estimate, then learn), with its own smoothing."""
        p = self.params
        if self.scale_filter is not None:
            start = time.process_time()
            scale = self.scale_filter.track(image, self.center)
            self.timings["scale_filter"] += time.process_time() - start
            return self.first_target_wh * scale
        if len(p.scales) < 2:
            return self.target_wh
        windows = [crest_search_window(np.round(self.target_wh * s)[::-1], p.search_factor) for s in p.scales]
        scale_features = self._scale_features(image, windows, detection, delta)
        first = next(scale_features)
        peaks = [float(self._regression(first).max())]
        if peaks[0] < p.scale_threshold:
            return self.target_wh
        peaks += [float(r.max()) for r in self._regression(next(scale_features))]
        best = int(np.argmax(peaks))
        if best == 0:
            return self.target_wh
        new = np.round(self.target_wh * p.scales[best])
        return (1.0 - p.scale_rate) * self.target_wh + p.scale_rate * new

    def _scale_features(self, image: np.ndarray, windows: list[int], detection: torch.Tensor,
                        delta: np.ndarray) -> Iterator[torch.Tensor]:
        """The windowed features of the scale windows at the new centre: first scale 1's, then the
        others as one batch (computed only if asked for: below the threshold they are not).

        ``scale_features="network"`` (the paper): each window through the network; scale 1's is
        the detection window itself when the target did not move (its features are reused).
        ``"zoom"`` (fast): no network pass; each window is resampled from the detection
        window's features, ``window / first window`` cells per cell, centred on the motion
        found (:func:`regtrack.core.sampling.zoom_feature_maps`)."""
        if self.params.scale_features == "zoom":
            zooms = np.array(windows, dtype=np.float64) / self.window
            offsets = np.array([(delta[1], delta[0])] * len(windows), dtype=np.float64) / zooms[:, None]
            maps = detection[0].permute(1, 2, 0).cpu().numpy()
            zoomed = zoom_feature_maps(np.repeat(maps[None], len(windows), axis=0), zooms, offsets, self.grid,
                                       self.cos.cpu().numpy())
            scaled = torch.from_numpy(zoomed).permute(0, 3, 1, 2).contiguous().to(self.device)
            yield scaled[:1]
            yield scaled[1:]
            return
        if not delta.any() and windows[0] == self.window:
            yield detection * self.cos
        else:
            yield self._features(image, self.center, windows[:1])[0] * self.cos
        yield self._features(image, self.center, windows[1:])[0] * self.cos

    def _learn(self, feats: torch.Tensor, delta: np.ndarray) -> None:
        """Buffer this frame's features with the label moved to the found peak (``circshift``);
        every ``update_interval`` frames, train on the buffer (``cnn_train_dag_update.m``)."""
        p = self.params
        label = torch.roll(self.label, shifts=(int(delta[1]), int(delta[0])), dims=(-2, -1))
        self.buffer.add(feats[0], label)
        if len(self.buffer) < p.update_interval:
            return
        if p.update_iterations > 0:
            start = time.process_time()
            x, y = self.buffer.batch()
            train_head(self.head, (x, self.first_features), y, loss=self.loss, lr=p.update_lr,
                       weight_decay=p.update_weight_decay, max_iterations=p.update_iterations)
            self.head.eval()
            self.timings["updates"] += time.process_time() - start
        self.buffer.clear()
