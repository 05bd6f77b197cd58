"""DSLT: Deep regression tracking with Shrinkage Loss (Lu, Ma, Ni, Yang, Reid, Yang, ECCV 2018), as
the authors' MATLAB/Caffe code runs it (``DSLT.m``, ``prototxt/vgg_se_res_layer.prototxt``, the
``vgg_se_res_solver*.prototxt`` solvers, ``util/get_crops.m``, ``util/GetMap.m``).

One-stage deep regression falls behind correlation filters because of data imbalance: almost
every pixel of the label map is easy background, and those easy samples dominate an L2 loss.
DSLT trains with the shrinkage loss (:func:`regtrack.core.losses.shrinkage_loss`), which lowers
only the easy samples' weight, and adds residual connections:

* features: VGG-16 conv4_3 and conv5_3, both at stride 4 (the feature net keeps only pool1 and
  pool2: :func:`regtrack.features.backbones.vgg_stride4_trunk`), each reduced to 128 channels
  by a 3x3 conv without bias (trained online);
* the feature residual ``P4 = 0.8 red4 + 0.2 red5``;
* two regression layers whose kernels span the target (Caffe ``pad: 0``: a "valid"
  correlation, :class:`regtrack.core.regression.CorrelationConv`), ``conv6_1`` on ``P4`` and
  ``conv6_2`` on ``red5`` (40x its learning rate), summed: the response residual.

First frame: downscale when the target's area exceeds 80^2 or a side 160 px; cut a window of
``9w x 5h`` (the context ``[8, 4]`` is multiplied by the downscale factor too, a quirk of the
code kept here), enlarged to at least 200 x 200 px; train on 7 augmented copies (Gaussian blur
sigma 10, 5, 1, 0.1; three flips), one drawn at random per Adam iteration (lr 2e-8, beta1 0.6,
weight decay 5.1e-4), until the loss is under 0.03 or 100 iterations.

Each next frame: the window at the last position -> response (stretched over the window,
bicubic) x a Gaussian motion prior (sigma 0.65 x target) -> the new centre at its peak; if the
response peak exceeds 0.35, three scales of step 1.03 and a size of ``0.4 old + 0.6 new``, its
aspect ratio bounded; then the window at the new position joins a buffer of the last 7 samples
and the head trains 2 iterations on each (lr 1e-8, one Adam state for the whole sequence).

Deliberate differences: the released code back-propagates ``-w^2 dL/dl`` without the sign of
``prediction - label`` (every step raises the response where the label weight is high); here
each loss is differentiated properly (autograd). Its per-sample weight
``w = (exp(1.6 Y) Y / max)^2`` is zero on the background, so no easy sample enters any loss and
shrinkage, L2 and L3 train alike (measured: their first-frame curves coincide); the default is
the paper's ``exp(Y)`` (eq. 6), with which the background counts and the losses differ
(``label_weight="code"`` restores the code's). The scale samples are whole windows ``s`` times
larger resized to the network input, as CREST's scale search: the code's (``get_scale_im.m``: the
context scaled, the crop zoomed and centred, with its reversed index) differ in magnification by
~0.3 % where the scales differ by 3 %, and lost the small targets (Freeman1) by a growing box;
``scale_samples="code"`` restores them (RESULTS_dslt.md §4-5: shrinkage DSLT 0.505 -> 0.635 on
5 targets).

A fast configuration (not the paper's; RESULTS_dslt.md §6) keeps the head and the losses and
cuts the network passes from five a frame to one: ``scale_samples=dsst`` estimates the size with
DSST's 1-D fHOG scale filter (:class:`regtrack.core.scale.ScaleFilter`, as CREST's and HCF's),
``update_sample=detection`` trains on the detection window's features with the label moved to the
peak found (CREST's ``circshift``) instead of a second window, and ``max_input`` caps the network
input's area.

Boxes in and out are OTB ``[x, y, w, h]`` (1-based); centres are 0-based image pixels, sizes
in downscaled pixels (:mod:`regtrack.core.box`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time

import cv2
import numpy as np
import torch
from torch import nn

from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.losses import LOSSES, make_loss
from regtrack.core.regression import (
    CorrelationConv,
    Multipliers,
    OnlineHead,
    SampleBuffer,
    TrainResult,
    train_head,
)
from regtrack.core.sampling import sample_patch
from regtrack.core.scale import ScaleFilter, ScaleParams
from regtrack.errors import RegtrackError
from regtrack.features.backbones import vgg_stride4_trunk
from regtrack.runtime import select_device, warn_if_bfloat16_is_slow
from regtrack.trackers.base import Tracker, hyper, register_tracker

DEVICES = ("auto", "cpu", "cuda")
DIFFERENCE_BINS = np.linspace(0.0, 1.0, 51)  # |output - label| histogram bins (the imbalance picture)


@dataclasses.dataclass
class DSLTParams:
    """DSLT's hyperparameters; defaults are the released code's (reference.md §1.3)."""

    backbone: str = hyper("vgg16", choices=("vgg16",), doc="feature network (paper: VGG-16)")
    weights: str | None = hyper(None, doc="backbone weights file; None = the authors' VGG-16 (regtrack[vgg])")
    reduced_channels: int = hyper(128, ge=1, le=512, doc="channels of the 3x3 reduction convs")
    feature_residual: tuple[float, ...] = hyper((0.8, 0.2), ge=0.0, le=1.0,
                                                doc="P4 = a red4 + b red5 (the feature residual)")
    max_target: float = hyper(80.0, ge=16.0, le=1000.0,
                              doc="downscale when area > max^2 or a side > 2 max (code: 80)")
    context: tuple[float, ...] = hyper((8.0, 4.0), ge=0.0, le=20.0,
                                       doc="window = (1 + cx) w by (1 + cy) h (9w x 5h)")
    context_follows_downscale: bool = hyper(True, doc="the code multiplies the context by the downscale")
    min_window: float = hyper(200.0, ge=32.0, le=1000.0, doc="enlarge the window to at least this^2 px")
    max_input: float = hyper(1000.0, ge=32.0, le=4000.0,
                             doc="shrink the network input to at most this^2 px (fast configuration; "
                                 "the paper: no cap, 1000 is above any window)")
    max_window: float = hyper(900.0, ge=64.0, le=4000.0,
                              doc="downscale further when the window's long side exceeds this (robustness)")
    input_scale: float = hyper(1.0, gt=0.1, le=1.0,
                               doc="extra downscale of the network input (fast configuration; paper 1)")
    backbone_dtype: str = hyper("float32", choices=("float32", "bfloat16"),
                                doc="bfloat16: the backbone at twice the speed on CPUs with AVX-512 BF16 "
                                    "(emulated, far slower, on AVX2-only CPUs)")
    head_dtype: str = hyper("float32", choices=("float32", "bfloat16"),
                            doc="bfloat16: the head's reduction convs (most of an update) at twice the speed")
    kernel_shrink: tuple[float, ...] = hyper((0.7, 0.4), gt=0.0, le=1.0,
                                             doc="kernel x 0.7 for 100^2..150^2 px targets, x 0.4 to 250^2")
    label_sigma_factor: float = hyper(0.08, gt=0.0, le=2.0, doc="label sigma = factor x target in cells")
    motion_sigma_factor: float = hyper(0.65, gt=0.0, le=10.0, doc="motion prior sigma = factor x target")
    loss: str = hyper("shrinkage", choices=LOSSES[1:], doc="shrinkage (paper), l2 or l3 (focal)")
    label_weight: str = hyper("exp", choices=("exp", "code"),
                              doc="sample weight: exp(Y) (paper eq. 6) or the code's (exp(1.6Y) Y / max)^2")
    shrinkage_a: float = hyper(10.0, gt=0.0, le=100.0, doc="shrinkage speed a")
    shrinkage_c: float = hyper(0.2, ge=0.0, le=1.0, doc="shrinkage localisation c")
    focal_gamma: float = hyper(1.0, ge=0.0, le=5.0, doc="L3's exponent: loss = l^gamma l^2")
    init_lr: float = hyper(2e-8, gt=0.0, le=1.0, doc="first-frame Adam learning rate")
    update_lr: float = hyper(1e-8, ge=0.0, le=1.0, doc="online-update Adam learning rate")
    adam_beta1: float = hyper(0.6, ge=0.0, lt=1.0, doc="Adam momentum (solver: 0.6)")
    weight_decay: float = hyper(0.00051, ge=0.0, le=1.0, doc="weight decay (solver: 0.00051)")
    init_iterations: int = hyper(100, ge=1, le=10000, doc="first-frame iteration cap")
    init_stop_loss: float = hyper(0.03, ge=0.0, doc="first-frame training stops under this loss")
    blur_sigmas: tuple[float, ...] = hyper((10.0, 5.0, 1.0, 0.1), gt=0.0, le=50.0,
                                           doc="first-frame augmentation: 5x5 Gaussian blurs")
    flips: int = hyper(3, ge=0, le=10, doc="first-frame augmentation: copies of the mirrored window")
    buffer_size: int = hyper(7, ge=1, le=100, doc="recent samples the updates train on")
    update_iterations: int = hyper(2, ge=0, le=100, doc="Adam iterations per buffered sample per frame")
    num_scales: int = hyper(3, ge=1, le=33, doc="scales searched")
    scale_step: float = hyper(1.03, gt=1.0, le=2.0, doc="scale step")
    scale_threshold: float = hyper(0.35, ge=0.0, le=10.0,
                                   doc="search scales only when the response peak exceeds this")
    scale_rate: float = hyper(0.6, ge=0.0, le=1.0, doc="size = (1 - rate) old + rate new")
    scale_samples: str = hyper("window", choices=("window", "code", "dsst"),
                               doc="window: the whole window scaled, as CREST's scale search (default: "
                                   "measured better); code: get_scale_im.m's (context scaled, "
                                   "magnification ~1.003 apart); dsst: no network pass, DSST's 1-D "
                                   "fHOG scale filter every frame (fast)")
    update_sample: str = hyper("window", choices=("window", "detection"),
                               doc="window: the window at the new position through the network (paper); "
                                   "detection: the detection window's features, label moved to the "
                                   "peak (fast: no second pass)")
    device: str = hyper("auto", choices=DEVICES, doc="auto: CUDA when present, else CPU")
    seed: int = hyper(0, ge=0, doc="seed of the head's initial weights and the augmentation draws")


def dslt_label_weight(label: torch.Tensor) -> torch.Tensor:
    """The released code's per-sample weight (``loss_object_grad.m``): ``w = exp(1.6 Y) Y``
    normalised to a maximum of 1, squared."""
    w = torch.exp(1.6 * label) * label
    return (w / w.max().clamp_min(1e-12)) ** 2


def relative_l2(prediction: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """``sum((X - Y)^2) / sum(Y^2)``: the plain, unweighted L2 error relative to the zero
    response's (1 before training). Each loss reports its own value on its own scale (shrinkage
    shrinks, L3 multiplies by ``l``), so their stopping thresholds are not comparable; this one
    measure is."""
    return ((prediction - label) ** 2).sum() / (label**2).sum().clamp_min(1e-12)


def centred_label(height: int, width: int, sigma_hw: tuple[float, float]) -> np.ndarray:
    """``GetMap.m``'s ``trans_gaussian``: a Gaussian at the map's centre (between cells for an
    even size), min-max normalised to [0, 1]."""
    ys = np.arange(height) + 0.5 - height / 2
    xs = np.arange(width) + 0.5 - width / 2
    g = np.exp(-0.5 * (ys[:, None] ** 2 / sigma_hw[0] ** 2 + xs[None, :] ** 2 / sigma_hw[1] ** 2))
    return ((g - g.min()) / (g.max() - g.min() + 1e-12)).astype(np.float32)


class DSLTHead(OnlineHead):
    """Reduction convs, the feature residual and the two summed regression layers (see the module
    docstring); Caffe's initial weights (MSRA for the reductions, N(0, 1e-7) for the regression
    layers) and learning-rate / decay multipliers (``vgg_se_res_layer.prototxt``)."""

    def __init__(self, kernel_hw: tuple[int, int], channels: int = 512, reduced: int = 128,
                 residual: tuple[float, float] = (0.8, 0.2), seed: int = 0, bf16: bool = False) -> None:
        super().__init__()
        # the reductions are nearly all of a training step's FLOPs (two 3x3 convs 512 -> 128 on
        # the stride-4 maps, forward and weight gradient); bf16 runs them at twice the speed on
        # AVX-512 BF16 CPUs. The parameters, Adam and the FFT correlations stay float32.
        self.bf16 = bf16
        gen = torch.Generator().manual_seed(seed)
        self.red4 = nn.Conv2d(channels, reduced, 3, padding=1, bias=False)
        self.red5 = nn.Conv2d(channels, reduced, 3, padding=1, bias=False)
        for conv in (self.red4, self.red5):  # Caffe "msra": N(0, 2 / fan_in)
            conv.weight.data = torch.randn(conv.weight.shape, generator=gen) * math.sqrt(2.0 / (channels * 9))
            if bf16:
                conv.to(memory_format=torch.channels_last)
        def regression_layer() -> CorrelationConv:  # Caffe "gaussian", std 1e-7
            weight = torch.randn(reduced, *kernel_hw, generator=gen) * 1e-7
            return CorrelationConv(reduced, kernel_hw, weight, padding="valid")

        self.conv6_1 = regression_layer()
        self.conv6_2 = regression_layer()
        self.residual = residual
        self.multipliers = {"conv6_1.bias": Multipliers(2.0, 0.0), "conv6_2.weight": Multipliers(40.0, 40.0),
                            "conv6_2.bias": Multipliers(40.0, 0.0)}

    def branches(self, f4: torch.Tensor, f5: torch.Tensor) -> dict[str, torch.Tensor]:
        """``conv6_1`` on the feature residual ``P4`` and ``conv6_2`` on ``red5``."""
        with torch.autocast(f4.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            red4, red5 = self.red4(f4), self.red5(f5)
        red4, red5 = red4.float().contiguous(), red5.float().contiguous()  # NCHW for the FFTs
        p4 = self.residual[0] * red4 + self.residual[1] * red5
        return {"conv6_1": self.conv6_1(p4), "conv6_2": self.conv6_2(red5)}

    def forward(self, f4: torch.Tensor, f5: torch.Tensor) -> torch.Tensor:
        """The response: the sum of the two regression layers (the response residual)."""
        return sum(self.branches(f4, f5).values())  # type: ignore[return-value]


@register_tracker("dslt")
class DSLTTracker(Tracker):
    """DSLT (Lu et al., ECCV 2018): deep regression with the shrinkage loss and residuals.

    See the module docstring. Hooks: ``init_training`` (the first frame's
    :class:`TrainResult`, with :func:`relative_l2` per iteration as its ``monitored``),
    ``last_response`` / ``last_label`` / ``last_patch`` (the regression output on the last search
    window, the label the head trains towards, the window), ``difference_histogram`` (counts of
    ``|output - label|`` over every update sample, in :data:`DIFFERENCE_BINS`) and ``timings``
    (process CPU seconds per stage)."""

    name = "dslt"
    Params = DSLTParams

    def __init__(self, params: DSLTParams | None = None, **overrides: object) -> None:
        super().__init__(params, **overrides)
        p = self.params
        if len(p.feature_residual) != 2 or len(p.context) != 2 or len(p.kernel_shrink) != 2:
            raise RegtrackError("feature_residual, context and kernel_shrink take two values each",
                                fix="e.g. --param feature_residual=0.8,0.2")
        self.device = select_device(p.device)
        warn_if_bfloat16_is_slow(self.device, backbone_dtype=p.backbone_dtype, head_dtype=p.head_dtype)
        from regtrack.features.backbones import create_backbone

        self.backbone = create_backbone(p.backbone, p.weights)
        trunk4 = vgg_stride4_trunk(self.backbone, "conv4_3")
        trunk5 = vgg_stride4_trunk(self.backbone, "conv5_3")
        self.trunk4 = trunk4.to(memory_format=torch.channels_last)
        self.trunk5 = nn.Sequential(*list(trunk5)[len(trunk4):]).to(memory_format=torch.channels_last)
        if self.device.type != "cpu":
            self.trunk4 = copy.deepcopy(self.trunk4).to(self.device)
            self.trunk5 = copy.deepcopy(self.trunk5).to(self.device)
        self.loss = make_loss(p.loss, gamma=p.focal_gamma, a=p.shrinkage_a, c=p.shrinkage_c,
                              label_weight=torch.exp if p.label_weight == "exp" else dslt_label_weight)
        self.timings: dict[str, float] = dict.fromkeys(("backbone", "first_frame_training", "regression",
                                                        "updates", "scale_filter"), 0.0)
        self.init_training: TrainResult | None = None
        self.last_response: np.ndarray | None = None
        self.last_patch: np.ndarray | None = None
        # counts of |output - label| over every update sample, before its training (DIFFERENCE_BINS)
        self.difference_histogram = np.zeros(len(DIFFERENCE_BINS) - 1, np.int64)

    # ------------------------------------------------------------------------------ features
    def _crop(self, image: np.ndarray, center: np.ndarray, size_wh: np.ndarray) -> np.ndarray:
        """The window of ``size_wh`` downscaled pixels at ``center`` (image pixels), resized to the
        network input (``get_crops`` -> ``imresize(roi, roi_size)``)."""
        return sample_patch(image, center, size_wh / self.work_scale, tuple(self.net_size))

    def _features(self, patches: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """conv4_3 and conv5_3 maps (stride 4) of ``N`` RGB windows."""
        start = time.process_time()
        # no_grad, not inference_mode: the maps are the inputs of the head's training steps
        with torch.no_grad(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                             enabled=self.params.backbone_dtype == "bfloat16"):
            x = self.backbone.preprocess(patches).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            f4 = self.trunk4(x)
            f5 = self.trunk5(f4)
        if self.params.head_dtype == "bfloat16":
            # kept as the bf16 head reads them (channels-last, oneDNN's fast layout): no cast or
            # reorder in each of the update's 14 training steps
            out = tuple(f.to(torch.bfloat16).contiguous(memory_format=torch.channels_last) for f in (f4, f5))
        else:
            out = (f4.float().contiguous(), f5.float().contiguous())
        self.timings["backbone"] += time.process_time() - start
        return out  # type: ignore[return-value]

    def _respond(self, f4: torch.Tensor, f5: torch.Tensor) -> np.ndarray:
        start = time.process_time()
        with torch.inference_mode():
            out = self.head(f4, f5)[:, 0].cpu().numpy()
        self.timings["regression"] += time.process_time() - start
        return out

    # ------------------------------------------------------------------------------ init
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        p = self.params
        image, box = self._first_frame(image, box)
        self.center, size = otb_to_center(box)
        # DSLT.m: downscale when the target is large
        big = float(np.prod(size)) > p.max_target**2 or float(size.max()) > 2 * p.max_target
        self.work_scale = p.max_target / float(size.max()) if big else 1.0
        context = np.asarray(p.context) * (self.work_scale if p.context_follows_downscale else 1.0)
        window = size * self.work_scale * (1.0 + context)
        self.work_scale = min(self.work_scale, self.work_scale * p.max_window / float(window.max()))
        self.target_wh = size * self.work_scale
        self.base_wh = self.target_wh.copy()
        self.context = np.asarray(p.context) * (self.work_scale if p.context_follows_downscale else 1.0)
        self.window_wh = self.target_wh * (1.0 + self.context)
        # impreprocess1: windows under min_window^2 px are enlarged to that area
        area = float(np.prod(self.window_wh))
        ratio = math.sqrt(p.min_window**2 / area) if area < p.min_window**2 else 1.0
        # robustness / speed (not in the paper): the backbone's cost grows with the input's area
        ratio = min(ratio, math.sqrt(p.max_input**2 / area))
        self.net_size = np.maximum(np.floor(self.window_wh * ratio * p.input_scale), 16).astype(int)
        patch = self._crop(image, self.center, self.window_wh)
        f4, f5 = self._features(patch[None])
        fea_hw = np.array(f4.shape[-2:])
        cells_per_px = fea_hw[::-1] / self.window_wh  # (x, y) cells per downscaled pixel
        kernel = np.floor(self.target_wh * cells_per_px)[::-1]  # (h, w) cells
        target_area = float(np.prod(self.target_wh))
        if 100**2 < target_area < 150**2:
            kernel = np.floor(p.kernel_shrink[0] * kernel)
        elif 150**2 <= target_area < 250**2:
            kernel = np.floor(p.kernel_shrink[1] * kernel)
        kernel = np.clip(kernel, 1, fea_hw - 1).astype(int)
        self.res_hw = tuple(int(v) for v in fea_hw - kernel + 1)
        self.label = torch.from_numpy(centred_label(*self.res_hw, tuple(p.label_sigma_factor * kernel)))
        self.label = self.label[None, None].to(self.device)
        self.motion_prior = centred_label(*self.res_hw, tuple(p.motion_sigma_factor * kernel))
        self.head = DSLTHead(tuple(kernel), reduced=p.reduced_channels,
                             residual=tuple(p.feature_residual), seed=p.seed,
                             bf16=p.head_dtype == "bfloat16").to(self.device)
        # my_data_augmentation.m: 5x5 Gaussian blurs and `flips` copies of the mirrored window, one
        # drawn per iteration (the mirrored copies share one network pass)
        unique = [cv2.GaussianBlur(patch, (5, 5), s) for s in p.blur_sigmas]
        if p.flips or not unique:
            unique.append(np.ascontiguousarray(patch[:, ::-1]) if p.flips else patch)
        a4, a5 = self._features(np.stack(unique))
        choices = np.minimum(np.arange(max(len(p.blur_sigmas) + p.flips, 1)), len(unique) - 1)
        draws = choices[np.random.default_rng(p.seed).integers(0, len(choices), p.init_iterations)]
        start = time.process_time()
        self.init_training = train_head(
            self.head, lambda it: (a4[draws[it]][None], a5[draws[it]][None]), self.label, loss=self.loss,
            lr=p.init_lr, weight_decay=p.weight_decay, max_iterations=p.init_iterations,
            stop_below=p.init_stop_loss, betas=(p.adam_beta1, 0.999), monitor=relative_l2)
        self.timings["first_frame_training"] = time.process_time() - start
        self.head.eval()
        # one solver for the updates, kept for the whole sequence (adjust_solver1)
        self.optimiser = torch.optim.Adam(self.head.param_groups(p.update_lr, p.weight_decay),
                                          betas=(p.adam_beta1, 0.999), eps=1e-8)
        self.buffer = SampleBuffer(p.buffer_size)
        self.buffer.add((f4[0], f5[0]), self.label[0])
        exps = np.arange(p.num_scales) - (p.num_scales - 1) // 2
        self.scale_factors = p.scale_step ** exps.astype(np.float64)
        self.current_scale = 1.0
        ratio_wh = size[0] / size[1]
        self.max_aspect = max(2 * ratio_wh, 2 / ratio_wh)
        frame_hw = np.array(image.shape[:2], dtype=np.float64) * self.work_scale
        self.min_scale = p.scale_step ** math.ceil(math.log(max(5.0 / np.sqrt(np.prod(self.base_wh)), 1e-9))
                                                   / math.log(p.scale_step))
        self.max_scale = p.scale_step ** math.floor(math.log(float(np.min(frame_hw / self.base_wh[::-1])))
                                                    / math.log(p.scale_step))
        self.last_patch = patch
        self.last_label = self.label[0, 0].cpu().numpy()
        self.scale_filter: ScaleFilter | None = None
        if p.scale_samples == "dsst":
            # the fast configuration's scale: DSST's filter (BMVC 2014, its paper settings, fHOG),
            # as CREST's fast configuration and HCF's CF2 code estimate scale, instead of three
            # windows through VGG-16 a frame
            start = time.process_time()
            self.scale_filter = ScaleFilter(ScaleParams())
            self.scale_filter.init(image, self.center, size, window_size=self.window_wh / self.work_scale)
            self.timings["scale_filter"] += time.process_time() - start

    # ------------------------------------------------------------------------------ update
    def update(self, image: np.ndarray) -> np.ndarray:
        p = self.params
        image = self._next_frame(image)
        patch = self._crop(image, self.center, self.window_wh)
        detection = self._features(patch[None])
        response = self._respond(*detection)[0]
        self.last_response, self.last_patch = response, patch
        if not np.isfinite(response).all():  # a diverged head: keep the last state
            return center_to_otb(self.center, self.target_wh / self.work_scale)
        peak = float(response.max())
        # the response and the motion prior stretched over the window (bicubic), then the peak
        w, h = (int(round(v)) for v in np.maximum(self.window_wh, 2))
        score = cv2.resize(response, (w, h), interpolation=cv2.INTER_CUBIC) * cv2.resize(
            self.motion_prior, (w, h), interpolation=cv2.INTER_CUBIC)
        ys, xs = np.nonzero(score == score.max())
        offset = np.array([xs.mean() - (w - 1) / 2, ys.mean() - (h - 1) / 2])  # downscaled px
        # the same offset in response cells (the response spans the window, as the features do)
        offset_cells = np.round(offset * np.array(response.shape[::-1]) / self.window_wh).astype(int)
        self.center = clamp_center(self.center + offset / self.work_scale, image.shape)
        if self.scale_filter is not None:
            self._track_scale(image)
        elif peak > p.scale_threshold and p.num_scales > 1:
            self._estimate_scale(image)
        if p.update_sample == "detection":
            # the detection window's features, the label moved to where the peak was found, as
            # CREST's circshift
            label = torch.roll(self.label, shifts=(int(offset_cells[1]), int(offset_cells[0])), dims=(-2, -1))
            self._learn(detection, label, response)
        else:
            self._learn(self._features(self._crop(image, self.center, self.window_wh)[None]), self.label)
        return center_to_otb(self.center, self.target_wh / self.work_scale)

    def _track_scale(self, image: np.ndarray) -> None:
        """``scale_samples="dsst"`` (fast): DSST's scale filter at the new centre, every frame
        (estimate, then learn; :class:`regtrack.core.scale.ScaleFilter`), with its own
        smoothing; the window follows the size, as in :meth:`_estimate_scale`."""
        start = time.process_time()
        scale = self.scale_filter.track(image, self.center)
        self.current_scale = scale
        self.target_wh = self.base_wh * scale
        self.window_wh = self.target_wh * (1.0 + self.context)
        self.timings["scale_filter"] += time.process_time() - start

    def _scale_samples(self, image: np.ndarray) -> np.ndarray:
        """``get_scale_im.m``: for each scale ``s``, the window with the *context* scaled by ``s``
        (``w (1 + cx s)`` by ``h (1 + cy s)``), resized to ``s`` x the network input (even
        sides) and centred on a black input-sized canvas (cropped when larger).
        ``scale_samples="window"``: the whole window times ``s``, resized to the network input (the
        target appears ``1/s`` times its size, so the samples differ in magnification by ``s``)."""
        net_w, net_h = (int(v) for v in self.net_size)
        if self.params.scale_samples == "window":
            return np.stack([self._crop(image, self.center, self.window_wh * s) for s in self.scale_factors])
        out = np.zeros((len(self.scale_factors), net_h, net_w, 3), np.uint8)
        for k, s in enumerate(self.scale_factors):
            size = self.target_wh * (1.0 + self.context * s)
            rw, rh = (max(2, 2 * int(v / 2 * s)) for v in (net_w, net_h))
            crop = sample_patch(image, self.center, size / self.work_scale, (rw, rh))
            # centre crop or pad: source and target offsets as get_scale_im's xs_start / xt_start
            sx, sy = max((rw - net_w) // 2, 0), max((rh - net_h) // 2, 0)
            tx, ty = max((net_w - rw) // 2, 0), max((net_h - rh) // 2, 0)
            cw, ch = min(rw, net_w), min(rh, net_h)
            out[k, ty:ty + ch, tx:tx + cw] = crop[sy:sy + ch, sx:sx + cw]
        return out

    def _estimate_scale(self, image: np.ndarray) -> None:
        """``DSLT.m``'s scale step: the response over the scale samples; the sample ``k`` holding the
        maximum moves the scale factor by ``scale_factors[-1 - k]`` (the code's reversed index:
        the sample whose context shrank means a larger target), then ``0.4 old + 0.6 new``,
        bounded, with the aspect ratio kept within ``DSLT.m``'s limits."""
        p = self.params
        responses = self._respond(*self._features(self._scale_samples(image)))
        best = int(np.argmax(responses.reshape(len(self.scale_factors), -1).max(axis=1)))
        # a window s times larger shows a target grown by s at its model size (window samples)
        factor = self.scale_factors[best if p.scale_samples == "window" else -1 - best]
        self.current_scale = float(np.clip(self.current_scale * factor, self.min_scale,
                                           self.max_scale))
        wh = (1 - p.scale_rate) * self.target_wh + p.scale_rate * self.base_wh * self.current_scale
        if wh[0] / wh[1] > self.max_aspect:
            wh[0] = wh[1] * self.max_aspect
        elif wh[0] / wh[1] < 1 / self.max_aspect:
            wh[0] = wh[1] / self.max_aspect
        self.target_wh = wh
        self.window_wh = self.target_wh * (1.0 + self.context)

    def _learn(self, sample: tuple[torch.Tensor, torch.Tensor], label: torch.Tensor,
               response: np.ndarray | None = None) -> None:
        """``sample`` (the window at the new position, label at its centre; or, fast, the detection
        window with the label moved to the peak and its ``response``) joins the buffer;
        ``update_iterations`` Adam steps (paper: 2) on each buffered sample, in order, with the
        sequence's one solver."""
        p = self.params
        start = time.process_time()
        f4, f5 = sample
        if response is None:
            with torch.inference_mode():
                response = self.head(f4, f5)[0, 0].cpu().numpy()
        difference = np.abs(response - label[0, 0].cpu().numpy()).ravel()
        self.difference_histogram += np.histogram(np.clip(difference, 0, 1), DIFFERENCE_BINS)[0]
        self.buffer.add((f4[0], f5[0]), label[0])
        if p.update_iterations > 0:
            for (x4, x5), target in zip(self.buffer.features, self.buffer.labels, strict=True):
                train_head(self.head, (x4[None], x5[None]), target[None], loss=self.loss, lr=p.update_lr,
                           weight_decay=p.weight_decay, max_iterations=p.update_iterations,
                           optimiser=self.optimiser)
            self.head.eval()
        self.timings["updates"] += time.process_time() - start


def convergence_curves(image: np.ndarray, box: np.ndarray, losses: list[str], params: dict,
                       iterations: int) -> dict[str, TrainResult]:
    """DSLT's first-frame training on ``image`` once per loss, each for exactly ``iterations``
    (no early stop; the same frame, augmentations and draws, seed ``params["seed"]``): the loss
    curves of the talk's convergence slide. Each result's ``monitored`` is :func:`relative_l2`."""
    out = {}
    for loss in losses:
        run = params | {"loss": loss, "init_iterations": iterations, "init_stop_loss": 0.0}
        tracker = DSLTTracker(**run)
        tracker.init(image, box)
        out[loss] = tracker.init_training
    return out
