"""TADT: Target-Aware Deep Tracking (Li, Ma, Wu, He, Yang, CVPR 2019), as the authors' MATLAB
code runs it (``tadt_tracking.m``, ``TAF_model.m``, ``gene_feat_patch.m``, ``siam_eval.m``,
``cal_scale.m``; reference.md §1.4).

Pre-trained VGG-16 channels are not all useful for one target. On the first frame TADT keeps
those that matter for it — by the gradients of a ridge-regression loss (target-active channels,
conv4_3 and conv4_1) and of a ranking loss over the target's scales (scale-sensitive channels,
conv4_1) (:mod:`regtrack.core.selection`) — and then tracks by plain Siamese cross-correlation of
those channels with the first frame's target, with no update at all.

First frame:

1. rescale the frame so that the target's ``sqrt(w h)`` lies in [44, 59] px;
2. the search window: ``3 x 59`` px rounded to ``4 (2k + 1)`` (180 px; the smaller image side if
   the frame is smaller), square, at the target;
3. VGG-16 conv4_1 and conv4_3 (ReLU outputs) of the window at stride 4 (no pool3:
   :func:`regtrack.features.backbones.vgg_stride4_trunk`): 45 x 45 maps for 180 px;
4. the target's cells cut from the centre of the maps (odd size), the channel selection (at most
   300 of conv4_3 and 80 of conv4_1, at least 250), conv4_1 weighted to balance conv4_3: the
   template, kept for the whole sequence.

Each next frame (frame -> crop -> features -> response -> box):

1. the window at the last position, resized to the network input -> the selected features, once;
2. three scales from those features alone: resized to 47 and 43 cells and cropped / zero-padded
   back to 45 (scales 45/47, 1, 45/43);
3. cross-correlation with the template (a correlation filter in the Fourier domain), the maps
   normalised by their common peak, each upsampled bicubically to the window's pixels, a Hann
   window *added*;
4. the scale whose peak, times ``[0.99, 1, 1.0055]``, is highest; move to its peak, scale the
   target and the window by that scale.

Speed: the selection leaves the last layer's unselected channels unused, so after the first
frame conv4_3 computes only the selected ones (exact, ~40 % of that layer);
``backbone_dtype=bfloat16`` runs the network on AVX-512 BF16 units (the fast configuration);
``input_scale`` shrinks the network input.

Boxes in and out are OTB ``[x, y, w, h]`` (1-based); the centre is kept 0-based in image pixels,
the target and window sizes in rescaled-frame pixels.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from regtrack.core.box import center_to_otb, clamp_center, otb_to_center
from regtrack.core.labels import centered_gaussian_label, hann_window
from regtrack.core.regression import CorrelationConv
from regtrack.core.sampling import sample_patch
from regtrack.core.selection import SELECTION_MODES, ChannelSelection, select_channels
from regtrack.features.backbones import vgg_stride4_trunk
from regtrack.runtime import select_device, warn_if_bfloat16_is_slow
from regtrack.trackers.base import Tracker, hyper, register_tracker

DEVICES = ("auto", "cpu", "cuda")


@dataclasses.dataclass
class TADTParams:
    """TADT's hyperparameters; defaults are the released code's (reference.md §1.4)."""

    backbone: str = hyper("vgg16", choices=("vgg16",), doc="feature network (paper: VGG-16)")
    weights: str | None = hyper(None, doc="VGG-16 weights file; None = the authors' VGG-16 (regtrack[vgg])")
    max_target: float = hyper(59.0, gt=4.0, le=1000.0, doc="rescale so that sqrt(w h) <= this, px")
    min_target: float = hyper(44.0, gt=4.0, le=1000.0, doc="rescale so that sqrt(w h) >= this, px")
    search_factor: float = hyper(3.0, gt=1.0, le=10.0, doc="search window = factor x max_target")
    selection: str = hyper("both", choices=SELECTION_MODES,
                           doc="channel selection: both losses (paper), regression, ranking or none")
    conv4_3_channels: int = hyper(300, ge=1, le=512, doc="at most this many conv4_3 channels")
    conv4_1_channels: int = hyper(80, ge=1, le=512, doc="at most this many conv4_1 channels")
    minimum_channels: int = hyper(250, ge=0, le=1024, doc="at least this many in all (from conv4_3)")
    output_sigma_factor: float = hyper(0.1, gt=0.0, le=2.0, doc="ridge label sigma = factor x target cells")
    label_alpha: float = hyper(0.2, gt=0.0, le=5.0, doc="ridge label exp(-alpha d^2 / sigma^2) (code: 0.2)")
    ridge_lr: float = hyper(5e-7, gt=0.0, le=1.0, doc="ridge-regression Adam learning rate")
    ridge_weight_decay: float = hyper(1.0, ge=0.0, le=1e3, doc="ridge weight decay (x the layer's 1e3)")
    ridge_iterations: int = hyper(100, ge=1, le=10000, doc="ridge-regression Adam iterations")
    scales: tuple[float, ...] = hyper((45 / 47, 1.0, 45 / 43), gt=0.5, lt=2.0,
                                      doc="scale factors; the features are resized by 1 / scale")
    scale_weights: tuple[float, ...] = hyper((0.99, 1.0, 1.0055), gt=0.0, le=2.0,
                                             doc="each scale's peak is multiplied by its weight")
    window_weight: float = hyper(1.0, ge=0.0, le=100.0,
                                 doc="Hann window added to the normalised response (code: 1)")
    input_scale: float = hyper(1.0, gt=0.1, le=1.0,
                               doc="downscale of the network input (fast configuration; paper 1)")
    backbone_dtype: str = hyper("float32", choices=("float32", "bfloat16"),
                                doc="bfloat16: the backbone at twice the speed on CPUs with AVX-512 BF16 "
                                    "(emulated, far slower, on AVX2-only CPUs)")
    prune_last_layer: bool = hyper(True, doc="compute only the selected conv4_3 channels (exact)")
    device: str = hyper("auto", choices=DEVICES, doc="auto: CUDA when present, else CPU")
    seed: int = hyper(0, ge=0, doc="seed of the selection nets' initial weights")


CELL = 4  # the feature stride: VGG-16 with pool1 and pool2 only
LAYERS = ("conv4_3", "conv4_1")  # TAF_model.m's order: the first is topped up and the reference


@register_tracker("tadt")
class TADTTracker(Tracker):
    """TADT (Li et al., CVPR 2019): target-aware VGG-16 channels, Siamese matching, no update.

    See the module docstring. Hooks for pictures and benchmarks: ``selection`` is the first
    frame's :class:`regtrack.core.selection.ChannelSelection`; ``first_maps`` the first frame's
    search-window conv4_1 / conv4_3 maps (``C x H x W`` tensors) and ``first_patch`` that window;
    after each frame ``last_response`` holds the chosen scale's response (window pixels) and
    ``last_patch`` the window; ``timings`` the process CPU seconds spent in the backbone, the
    selection and the matching."""

    name = "tadt"
    Params = TADTParams

    def __init__(self, params: TADTParams | None = None, **overrides: object) -> None:
        super().__init__(params, **overrides)
        p = self.params
        if len(p.scale_weights) != len(p.scales):
            from regtrack.errors import RegtrackError

            raise RegtrackError(f"tadt: {len(p.scales)} scales but {len(p.scale_weights)} scale_weights",
                                fix="give one weight per scale")
        self.device = select_device(p.device)
        warn_if_bfloat16_is_slow(self.device, backbone_dtype=p.backbone_dtype)
        from regtrack.features.backbones import create_backbone

        self.backbone = create_backbone(p.backbone, p.weights)
        # conv1_1 .. conv4_1 and conv4_2 .. conv4_3 as two stages, so conv4_1 is kept on the way
        low = vgg_stride4_trunk(self.backbone, "conv4_1")
        high = list(vgg_stride4_trunk(self.backbone, "conv4_3"))[len(low):]
        self.stages = [low.to(memory_format=torch.channels_last),
                       nn.Sequential(*high).to(memory_format=torch.channels_last)]
        if self.device.type != "cpu":
            self.stages = [copy.deepcopy(s).to(self.device) for s in self.stages]
        self.full_stages = list(self.stages)  # a new init starts from the unpruned network
        self.selection: ChannelSelection | None = None
        self.pruned = False
        self._hann: tuple[int, np.ndarray] = (0, np.zeros((0, 0), np.float32))
        self.first_maps: dict[str, torch.Tensor] = {}
        self.first_patch: np.ndarray | None = None
        self.last_response: np.ndarray | None = None
        self.last_patch: np.ndarray | None = None
        self.timings: dict[str, float] = dict.fromkeys(("backbone", "selection", "matching"), 0.0)

    # ------------------------------------------------------------------------------ features
    def _maps(self, patch: np.ndarray) -> dict[str, torch.Tensor]:
        """conv4_1 and conv4_3 (``1 x C x g x g``, float32) of one window; after the first frame
        conv4_3 holds only the selected channels (``prune_last_layer``)."""
        start = time.process_time()
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                    enabled=self.params.backbone_dtype == "bfloat16"):
            x = self.backbone.preprocess(patch[None]).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            c41 = self.stages[0](x)
            c43 = self.stages[1](c41)
            maps = {"conv4_1": c41.float().contiguous(), "conv4_3": c43.float().contiguous()}
        self.timings["backbone"] += time.process_time() - start
        return maps

    def _window_patch(self, image: np.ndarray) -> np.ndarray:
        side = self.window / self.work_scale  # image pixels
        return sample_patch(image, self.center, (side, side), (self.net_input, self.net_input))

    def _select(self, maps: dict[str, torch.Tensor]) -> torch.Tensor:
        """The target-aware features: the selected channels of each layer, times its balance
        weight, conv4_3 first (``feature_selection.m``, ``Wreduction``)."""
        assert self.selection is not None
        parts = []
        for layer in LAYERS:
            x = maps[layer]
            if not (layer == "conv4_3" and self.pruned):
                x = x[:, torch.from_numpy(self.selection.channels[layer]).to(x.device)]
            parts.append(x * self.selection.balance[layer])
        return torch.cat(parts, dim=1)

    def _prune(self) -> None:
        """Keep only the selected output channels of the last convolution (conv4_3): the others
        are never used after the first frame."""
        assert self.selection is not None
        keep = torch.from_numpy(self.selection.channels["conv4_3"]).to(self.device)
        high = copy.deepcopy(self.stages[1])
        last = next(i for i in reversed(range(len(high))) if isinstance(high[i], nn.Conv2d))
        conv = high[last]
        pruned = nn.Conv2d(conv.in_channels, len(keep), conv.kernel_size, conv.stride, conv.padding)
        pruned.weight = nn.Parameter(conv.weight.detach()[keep].clone(), requires_grad=False)
        pruned.bias = nn.Parameter(conv.bias.detach()[keep].clone(), requires_grad=False)
        high[last] = pruned
        self.stages[1] = high.to(self.device).to(memory_format=torch.channels_last).eval()
        self.pruned = True

    def _work_scale(self, size: np.ndarray) -> float:
        """``tadt_tracking.m``: rescale the frame so that the target's ``sqrt(w h)`` lies in
        ``[min_target, max_target]``."""
        root = math.sqrt(float(np.prod(size)))
        return min(max(1.0, self.params.min_target / root), self.params.max_target / root)

    def _target_cells(self, grid: int) -> tuple[np.ndarray, slice, slice]:
        """``gene_feat_patch.m``: the target's cells (odd ``h x w``) at the map's centre
        ``round(g / 2)`` (1-based), for the current target and window sizes."""
        template_hw = (np.floor(self.target_wh[::-1] * grid / self.window / 2) * 2 + 1).astype(int)
        template_hw = np.minimum(template_hw, grid - (1 - grid % 2))
        centre = int(round(grid / 2 + 1e-9)) - 1  # MATLAB round(22.5) = 23, 0-based 22
        half = template_hw // 2
        rows = slice(max(centre - half[0], 0), centre + half[0] + 1)
        cols = slice(max(centre - half[1], 0), centre + half[1] + 1)
        return template_hw, rows, cols

    # ------------------------------------------------------------------------------ init
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        p = self.params
        image, box = self._first_frame(image, box)
        self.center, size = otb_to_center(box)
        self.work_scale = self._work_scale(size)
        self.target_wh = np.round(size * self.work_scale)
        frame_wh = np.array(image.shape[1::-1], dtype=np.float64) * self.work_scale
        # cal_window_sz.m: 3 x max_target, or the smaller frame side, rounded to 4 (2k + 1)
        side = p.search_factor * p.max_target
        if side > frame_wh.min():
            side = float(np.floor(frame_wh.min()))
        side = side + 8 - (side - 4) % 8
        self.window = float(side)
        # the network input: the window, or 4 (2k + 1) px below it (fast), so the map stays odd
        self.net_input = int(side)
        if p.input_scale < 1:
            self.net_input = int(4 * (2 * round((side * p.input_scale / 4 - 1) / 2) + 1))
        self.min_window = 8.0 * CELL
        self.max_window = 4.0 * float(np.hypot(*frame_wh))
        self.stages, self.pruned = list(self.full_stages), False

        patch = self._window_patch(image)
        maps = self._maps(patch)
        grid = maps["conv4_3"].shape[-1]
        template_hw, rows, cols = self._target_cells(grid)
        label = torch.from_numpy(centered_gaussian_label(
            grid, grid, tuple(template_hw * p.output_sigma_factor), p.label_alpha))
        start = time.process_time()
        self.selection = select_channels(
            {k: v.cpu() for k, v in maps.items()}, tuple(template_hw), label,
            counts={"conv4_3": p.conv4_3_channels, "conv4_1": p.conv4_1_channels},
            minimum_total=p.minimum_channels, mode=p.selection, ridge_lr=p.ridge_lr,
            ridge_weight_decay=p.ridge_weight_decay, ridge_iterations=p.ridge_iterations, seed=p.seed)
        self.timings["selection"] = time.process_time() - start
        template = self._select(maps)[0, :, rows, cols]
        self.matcher = CorrelationConv(template.shape[0], tuple(template.shape[-2:]),
                                       weight=template.contiguous(), padding="valid").to(self.device)
        self.matcher.requires_grad_(False)
        self.first_maps = {k: v[0].cpu() for k, v in maps.items()}
        self.first_patch = patch
        self.last_patch = patch
        self.last_maps = self.first_maps
        self.first_window = self.window
        if p.prune_last_layer and p.selection != "none":
            self._prune()

    # ------------------------------------------------------------------------------ update
    def _scaled_features(self, feats: torch.Tensor) -> torch.Tensor:
        """The features at each scale, from the one window (``tadt_tracking.m``): resized to
        ``g / s`` cells (bilinear, corner-aligned, as ``imresize_gpu.m``) and centre-cropped or
        zero-padded back to ``g``. Scale ``s < 1`` (target smaller) zooms in."""
        g = feats.shape[-1]
        out = []
        for s in self.params.scales:
            n = max(1, int(round(g / s)))
            if n == g:
                out.append(feats)
                continue
            r = F.interpolate(feats, size=(n, n), mode="bilinear", align_corners=True)
            if n > g:
                a = (n - g) // 2
                out.append(r[..., a: a + g, a: a + g])
            else:
                a = (g - n) // 2
                out.append(F.pad(r, (a, g - n - a, a, g - n - a)))
        return torch.cat(out)

    def _responses(self, feats: torch.Tensor) -> np.ndarray:
        """``siam_eval.m``: the cross-correlation of each scale's features with the template,
        placed so that a cell's score is the template centred there (0 where it does not fit),
        normalised by the peak over all scales. ``S x g x g``."""
        g = feats.shape[-1]
        with torch.inference_mode():
            valid = self.matcher(feats)[:, 0].cpu().numpy()
        out = np.zeros((feats.shape[0], g, g), np.float32)
        th, tw = self.matcher.kernel_hw
        out[:, th // 2: th // 2 + valid.shape[1], tw // 2: tw // 2 + valid.shape[2]] = valid
        peak = float(out.max())
        return out / peak if peak > 0 else out

    def _window_of(self, side: int) -> np.ndarray:
        """The Hann window added to the responses, times ``window_weight``; rebuilt only when the
        window's side changes (a scale step), not every frame."""
        if self._hann[0] != side:
            self._hann = (side, hann_window(side, side) * self.params.window_weight)
        return self._hann[1]

    def update(self, image: np.ndarray) -> np.ndarray:
        p = self.params
        image = self._next_frame(image)
        patch = self._window_patch(image)
        maps = self._maps(patch)
        self.last_maps = {k: v[0] for k, v in maps.items()}
        start = time.process_time()
        responses = self._responses(self._scaled_features(self._select(maps)))
        side = max(1, int(round(self.window)))
        hann = self._window_of(side)
        # imresize(..., 'bicubic') to the window's pixels, then the Hann window added
        maps_px = np.stack([cv2.resize(r, (side, side), interpolation=cv2.INTER_CUBIC) + hann
                            for r in responses])
        scores = maps_px.reshape(len(maps_px), -1).max(axis=1) * np.asarray(p.scale_weights)
        best = int(np.argmax(scores)) if np.isfinite(scores).all() else 1
        response = maps_px[best]
        self.timings["matching"] += time.process_time() - start
        self.last_response = response
        self.last_patch = patch
        if not np.isfinite(response).all():  # nothing sensible found: keep the last state
            return center_to_otb(self.center, self.target_wh / self.work_scale)
        # MATLAB's find(res == max) is column-major: the first maximum down the columns
        iy, ix = np.unravel_index(int(np.argmax(response.T)), response.T.shape)[::-1]
        scale = float(p.scales[best])
        # the window's centre pixel is (side - 1) / 2 (sample_patch centres exactly)
        delta = (np.array([ix, iy], dtype=np.float64) - (side - 1) / 2) * self.window / side * scale
        self.center = clamp_center(self.center + delta / self.work_scale, image.shape)
        self.target_wh = np.maximum(self.target_wh * scale, 1.0)
        # robustness (not in the paper): the window stays between 8 cells and 4x the frame diagonal
        self.window = float(np.clip(round(self.window * scale), self.min_window, self.max_window))
        return center_to_otb(self.center, self.target_wh / self.work_scale)

    # ------------------------------------------------------------------------------ pictures
    def target_features(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The target at ``box`` (OTB, 1-based) in ``image`` described as the first frame's
        template is cut (the frame rescaled by the first frame's rule for this box, the first
        window's size, the target's cells): the mean over those cells of every conv4_3 and
        conv4_1 channel (``1024``), and the same with only the selected channels (others 0,
        conv4_1 times its balance weight) — the original and the target-aware features of the
        t-SNE pictures (TADT Fig. 6). Needs ``prune_last_layer=False`` (all conv4_3 channels)."""
        if self.pruned or self.selection is None:
            raise RuntimeError("target_features needs an initialised tracker with prune_last_layer=False")
        saved = (self.center, self.target_wh, self.work_scale, self.window)
        try:
            self.center, size = otb_to_center(np.asarray(box, dtype=np.float64))
            self.work_scale = self._work_scale(size)
            self.target_wh, self.window = np.round(size * self.work_scale), self.first_window
            maps = self._maps(self._window_patch(image))
            _, rows, cols = self._target_cells(maps["conv4_3"].shape[-1])
            original, aware = [], []
            for layer in LAYERS:
                mean = maps[layer][0, :, rows, cols].mean(dim=(1, 2)).cpu().numpy()
                mask = np.zeros_like(mean)
                mask[self.selection.channels[layer]] = self.selection.balance[layer]
                original.append(mean)
                aware.append(mean * mask)
            return np.concatenate(original), np.concatenate(aware)
        finally:
            self.center, self.target_wh, self.work_scale, self.window = saved
