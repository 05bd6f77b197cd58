"""HCF: Hierarchical Convolutional Features for visual tracking (Ma, Huang, Yang, Yang, ICCV 2015),
with the authors' later additions: the DSST scale filter of CF2's current code and the long-term
memory filter with failure detection and re-detection of HCFT* (Ma et al., TPAMI 2018).

Per frame (CF2 ``tracker_ensemble.m``):

1. cut the search window (2.8x the target; the tall / large-target rules of ``get_search_window``)
   around the last position, resize it to the network input (224x224), run the backbone once;
2. resize each of the three layers (VGG-19 conv3_4, conv4_4, conv5_4 — shallow to deep) to the
   cell grid ``floor(window / cell_size)`` and multiply it by a Hann window;
3. per layer, a linear multichannel correlation filter (ICCV eq. 1-4; KCF with a linear kernel
   divided by ``numel``): response ``f_l = ifft(alphaf_l * kzf_l)``, max-normalised;
4. fuse: ``fusion="weighted"`` — the weighted sum of the released code, weights (conv3, conv4,
   conv5) = (0.25, 0.5, 1) of the current code / HCFT*, or (0.02, 0.5, 1) of the ICCV commit;
   ``fusion="coarse_to_fine"`` — the paper's search (ICCV eq. 5-6): the peak of the deepest
   layer, then at each shallower layer the maximum of ``f_{l-1} + gamma f_l`` (accumulated) in
   a neighbourhood ``|m - m^| + |n - n^| <= r`` of the coarser peak;
5. scale: DSST's 1-D filter (33 scales, step 1.02; :mod:`regtrack.core.scale`) at the new centre;
6. learn every layer's filter at the new position, model update at rate 0.01 (ICCV eq. 3-4).

HCFT* (``long_term=True``): a Gaussian-kernel correlation filter on fHOG of the target (plus 3 px
a side), updated only when confident (max response > ``appearance_thresh`` 0.38), scores every
frame; below ``motion_thresh`` (0.181) the target is considered lost and is searched again over
``redetect_factor`` times the search window (HCFT* draws its proposals from the search window,
``get_subwindow(im, pos, window_sz)``: factor 1; the search is "wider" than the translation
filter's, whose response the cosine window confines to the centre) with candidate patches on a
grid scored by the same long-term filter; a candidate is taken when its score exceeds both the
current one and ``appearance_thresh``. On MotorRolling a factor of 2 let a background patch win
(AUC 0.447 -> 0.095); 1 does not. HCFT* draws candidates from EdgeBoxes; EdgeBoxes is not in
OpenCV's contrib build without its model file, so the grid stands in for the proposals.

Differences from CF2 kept on purpose (documented so that numbers are comparable):
* the search window follows the estimated scale (CF2 keeps it fixed and only reports the size);
* the peak is refined to a fraction of a cell (``subpixel=True``; CF2 takes the integer peak);
* VGG-19's weights are torchvision's (RGB, mean/std) rather than MatConvNet's (no offline
  source); ``backbone=vgg16`` runs the authors' own Caffe/MatConvNet VGG-16 (``regtrack[vgg]``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F

from regtrack.core import dcf
from regtrack.core.box import center_to_otb, clamp_box_size, clamp_center, otb_to_center
from regtrack.core.labels import gaussian_label, hann_window, hcf_search_window, output_sigma
from regtrack.core.sampling import sample_patch
from regtrack.errors import RegtrackError
from regtrack.features.backbones import BACKBONES
from regtrack.trackers.base import Tracker, hyper, register_tracker

FUSIONS = ("weighted", "coarse_to_fine")
ICCV_WEIGHTS = (0.02, 0.5, 1.0)   # conv3_4, conv4_4, conv5_4 — CF2 commit 4b895b5 (ICCV 2015)
TPAMI_WEIGHTS = (0.25, 0.5, 1.0)  # CF2 HEAD and HCFTstar ``nweights = [1, 0.5, 0.25]`` (deep first)


@dataclasses.dataclass
class HCFParams:
    """HCF's hyperparameters; defaults are CF2's current code (``run_tracker.m``,
    ``tracker_ensemble.m``, ``cf_scale/init_scale_para.m``) and HCFT*'s for the long-term part."""

    # backbone (paper: VGG-19 conv3_4, conv4_4, conv5_4)
    backbone: str = hyper("vgg19", choices=BACKBONES, doc="the CNN whose layers are the features")
    weights: str | None = hyper(None, doc="weights file; none = the default (vgg16: regtrack[vgg])")
    layers: tuple[str, ...] = hyper((),
                                    doc="layer names, shallow -> deep; () = the backbone's three HCF layers")
    # search window (CF2 get_search_window: padding generic 1.8, large 1, height 0.4)
    padding: float = hyper(1.8, ge=0, le=20, doc="window = target x (1 + padding) (CF2 get_search_window)")
    large_padding: float = hyper(1.0, ge=0, le=20, doc="padding of large targets (CF2 get_search_window)")
    tall_padding: float = hyper(0.4, ge=0, le=20, doc="padding of tall targets, width (1 + padding) x")
    cell_size: int = hyper(4, ge=1, le=64, doc="feature cell size in pixels")
    # correlation filters (ICCV eq. 3-4)
    lam: float = hyper(1e-4, gt=0, le=1e3, doc="ridge regularisation lambda (ICCV eq. 3)")
    output_sigma_factor: float = hyper(0.1, gt=0, le=10, doc="label sigma = sqrt(w h) x factor / cell_size")
    interp_factor: float = hyper(0.01, ge=0, le=1, doc="model learning rate (ICCV eq. 4)")
    # fusion of the layers
    fusion: str = hyper("weighted", choices=FUSIONS,
                        doc="weighted sum (CF2 code) or coarse_to_fine (ICCV eq. 5-6)")
    layer_weights: tuple[float, ...] = hyper(TPAMI_WEIGHTS, ge=0, le=1e3,
                                             doc="weight of each layer, shallow -> deep; ICCV: 0.02,0.5,1")
    subpixel: bool = hyper(True, doc="sub-cell peak of the fused response")
    # scale: DSST 1-D filter (CF2 cf_scale/init_scale_para.m)
    scale: bool = hyper(True, doc="estimate the scale with DSST's 1-D scale filter")
    n_scales: int = hyper(33, ge=1, le=99, doc="number of scales of the scale filter")
    scale_step: float = hyper(1.02, gt=1, le=2, doc="scale factor between neighbouring scales")
    scale_sigma_factor: float = hyper(0.25, gt=0, le=10, doc="scale label sigma = S / sqrt(33) x factor")
    scale_lam: float = hyper(0.01, gt=0, le=1e3, doc="regularisation lambda of the scale filter")
    scale_interp_factor: float = hyper(0.01, ge=0, le=1, doc="learning rate of the scale filter")
    scale_model_max_area: float = hyper(512.0, ge=16, le=4096,
                                        doc="scale patches are resized to at most this area")
    # HCFT* long-term memory filter and re-detection (tracker_HCFTstar.m)
    long_term: bool = hyper(False, doc="HCFT*: long-term memory filter and re-detection")
    motion_thresh: float = hyper(0.181, ge=0, le=1,
                                 doc="HCFT*: below this confidence the model is not updated")
    appearance_thresh: float = hyper(0.38, ge=0, le=1, doc="HCFT*: below this confidence re-detection starts")
    ltm_kernel_sigma: float = hyper(1.0, gt=0, le=100, doc="Gaussian kernel bandwidth of the memory filter")
    ltm_margin: float = hyper(3.0, ge=0, le=100, doc="memory patch = target + 2 x margin px")
    ltm_max_area: float = hyper(48.0 * 48.0, ge=16, le=1e6,
                                doc="the memory patch is resized to at most this area (px)")
    redetect: bool = hyper(True, doc="HCFT*: search a wider region when confidence is low")
    redetect_factor: float = hyper(1.0, gt=0, le=10, doc="re-detection region = factor x the search window")
    redetect_step: float = hyper(0.5, gt=0, le=10, doc="re-detection candidate spacing, in target sizes")


@register_tracker("hcf")
class HCFTracker(Tracker):
    """HCF / HCFT*; see the module docstring."""

    name = "hcf"
    Params = HCFParams

    def __init__(self, params: HCFParams | None = None, **overrides: object) -> None:
        super().__init__(params, **overrides)
        p = self.params
        from regtrack.features.backbones import create_backbone

        self.backbone = create_backbone(p.backbone, p.weights)
        self.layers = self.backbone.check_layers(p.layers or self.backbone.hcf_layers)
        if len(p.layer_weights) != len(self.layers):
            raise RegtrackError(f"{len(self.layers)} layers but {len(p.layer_weights)} layer_weights",
                                fix="give one weight per layer, shallow to deep")
        self.weights = np.asarray(p.layer_weights, dtype=np.float64)
        self.last_responses: list[np.ndarray] = []  # per layer, centred (fftshift), for `show`
        self.last_fused: np.ndarray | None = None
        self.confidence = float("nan")               # long-term memory score of the last frame

    # -------------------------------------------------------------------------------- features
    def _grid_features(self, image: np.ndarray, center: np.ndarray, scale: float) -> list[torch.Tensor]:
        """The layers for the window at ``center`` (size ``window * scale``), each resized to the
        cell grid and windowed (CF2 ``get_features.m``): a list of ``C x gh x gw`` tensors."""
        s = self.backbone.input_size
        patch = sample_patch(image, center, self.window * scale, (s, s))
        self.last_patch = patch
        maps = self.backbone.features(patch, self.layers)
        out = []
        for name in self.layers:
            x = F.interpolate(maps[name], size=self.grid_hw, mode="bilinear", align_corners=False)[0]
            out.append(x * self.cos)
        return out

    # -------------------------------------------------------------------------------- filters
    def _train(self, feats: list[torch.Tensor], first: bool) -> None:
        """Per layer ``alphaf = yf / (kxxf + lambda)`` with the linear kernel / numel (ICCV eq. 3;
        CF2 ``updateModel``), then the running average of ``xf`` and ``alphaf`` (ICCV eq. 4)."""
        rate = self.params.interp_factor
        for i, x in enumerate(feats):
            xf = dcf.fft2(x)
            kf = dcf.linear_kernel(xf, xf, x.numel())
            alphaf = dcf.solve_alpha(kf, self.yf, self.params.lam)
            old = None if first else (self.model_xf[i], self.model_alphaf[i])
            self.model_xf[i], self.model_alphaf[i] = dcf.update_model(old, (xf, alphaf), rate)

    def layer_responses(self, feats: list[torch.Tensor]) -> list[np.ndarray]:
        """Each layer's response ``ifft(alphaf * kzf)`` (ICCV eq. 4), max-normalised as CF2 does,
        and centred (``fftshift``: zero displacement at ``[gh // 2, gw // 2]``)."""
        out = []
        for i, z in enumerate(feats):
            kzf = dcf.linear_kernel(self.model_xf[i], dcf.fft2(z), z.numel())
            r = dcf.kernel_response(self.model_alphaf[i], kzf, self.grid_hw).numpy().astype(np.float64)
            peak = r.max()
            out.append(np.fft.fftshift(r / peak if peak > 0 else r))
        return out

    def fuse(self, responses: list[np.ndarray]) -> tuple[float, float, np.ndarray]:
        """Combine the centred layer responses (shallow -> deep) into a displacement ``(dy, dx)``
        in cells and the fused map."""
        gh, gw = self.grid_hw
        if self.params.fusion == "weighted":
            # CF2 predictPosition: response = sum_l w_l * f_l / max(f_l)
            fused = sum(w * r for w, r in zip(self.weights, responses, strict=True))
            dy, dx, _ = dcf.peak_offset(np.fft.ifftshift(fused), subpixel=self.params.subpixel)
            return dy, dx, fused
        # ICCV 2015 eq. 5-6: coarse-to-fine. Start at the deepest layer's peak; at each shallower
        # layer maximise f_{l-1} + gamma * f_l (here the running weighted sum) within a Manhattan
        # radius r of the coarser peak, r = the coarser layer's stride in cells.
        rows, cols = np.mgrid[0:gh, 0:gw]
        fused = self.weights[-1] * responses[-1]
        r, c = np.unravel_index(int(np.argmax(fused)), fused.shape)
        for level in range(len(responses) - 2, -1, -1):
            fused = fused + self.weights[level] * responses[level]
            radius = max(1, math.ceil(self.backbone.layers[self.layers[level + 1]].stride
                                      * min(gh, gw) / self.backbone.input_size))
            masked = np.where(np.abs(rows - r) + np.abs(cols - c) <= radius, fused, -np.inf)
            r, c = np.unravel_index(int(np.argmax(masked)), fused.shape)
        dy, dx = float(r - gh // 2), float(c - gw // 2)
        if self.params.subpixel:
            dy += _parabola(fused[(r - 1) % gh, c], fused[r, c], fused[(r + 1) % gh, c])
            dx += _parabola(fused[r, (c - 1) % gw], fused[r, c], fused[r, (c + 1) % gw])
        return dy, dx, fused

    # -------------------------------------------------------------------------------- API
    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        p = self.params
        self.center, self.base_size = otb_to_center(box)
        self.scale = 1.0
        # CF2 get_search_window (2.8x; tall: height 1.4x; large (> 5 % of the image): 2x)
        self.window = hcf_search_window(self.base_size, image.shape, p.padding, p.large_padding,
                                        p.tall_padding)
        gw, gh = (max(4, int(v)) for v in np.floor(self.window / p.cell_size))
        self.grid_hw = (gh, gw)
        self.cell_px = self.window / np.array([gw, gh])  # window pixels per cell (x, y), ~cell_size
        sigma = output_sigma(self.base_size, p.output_sigma_factor, p.cell_size)
        self.yf = dcf.fft2(torch.from_numpy(gaussian_label(gh, gw, sigma)))
        self.cos = torch.from_numpy(hann_window(gh, gw))
        n = len(self.layers)
        self.model_xf: list[torch.Tensor] = [None] * n  # type: ignore[list-item]
        self.model_alphaf: list[torch.Tensor] = [None] * n  # type: ignore[list-item]
        self._train(self._grid_features(image, self.center, 1.0), first=True)
        self.scale_filter = None
        if p.scale:
            self._init_scale(image)
        self.memory = None
        if p.long_term:
            self._init_memory(image)

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        # kept for `regtrack show features`: the search patch and where it was cut
        self.last_search_center, self.last_search_window = self.center.copy(), self.window * self.scale
        feats = self._grid_features(image, self.center, self.scale)
        self.last_patch_search = self.last_patch
        responses = self.layer_responses(feats)
        dy, dx, fused = self.fuse(responses)
        self.last_responses, self.last_fused = responses, fused
        self.center = self.center + np.array([dx, dy]) * self.cell_px * self.scale
        self._clamp_center()
        if self.scale_filter is not None:
            self.scale = self.scale_filter.track(image, self.center)
        if self.memory is not None:
            self._long_term(image)
        # learn at the new position (CF2 re-extracts the features there)
        self._train(self._grid_features(image, self.center, self.scale), first=False)
        return self.box()

    def box(self) -> np.ndarray:
        size = clamp_box_size(self.base_size * self.scale, self.frame_shape)
        return center_to_otb(self.center, size)

    def _clamp_center(self) -> None:
        self.center = clamp_center(self.center, self.frame_shape)

    # -------------------------------------------------------------------------------- scale
    def _init_scale(self, image: np.ndarray) -> None:
        """DSST scale filter as CF2's ``cf_scale``: samples of ``target + 2 * cell_size`` px,
        grey fHOG, 33 scales at 1.02, lambda 0.01, rate 0.01, at most 512 px per sample."""
        from regtrack.core.scale import ScaleFilter, ScaleParams, scale_limits
        from regtrack.features.handcrafted import FHog

        p = self.params
        sp = ScaleParams(n_scales=p.n_scales, scale_step=p.scale_step,
                         scale_sigma_factor=p.scale_sigma_factor, lam=p.scale_lam,
                         learning_rate=p.scale_interp_factor, model_max_area=p.scale_model_max_area)
        self.scale_filter = ScaleFilter(sp, feature=FHog(cell_size=4, gray=True))
        app = self.base_size + 2 * p.cell_size
        limits = scale_limits(self.window, self.base_size, image.shape, p.scale_step)
        self.scale_filter.init(image, self.center, app, limits=limits)

    # -------------------------------------------------------------------------------- HCFT*
    def _init_memory(self, image: np.ndarray) -> None:
        """HCFT*'s long-term memory filter: Gaussian kernel (sigma 1) on fHOG of the target plus
        ``ltm_margin`` px a side, no cosine window (``cos_window1 = ones``)."""
        from regtrack.features.handcrafted import FHog

        p = self.params
        self._image = image
        self.ltm_feature = FHog(cell_size=4)
        app = self.base_size + 2 * p.ltm_margin
        shrink = min(1.0, math.sqrt(p.ltm_max_area / float(np.prod(app))))
        self.ltm_out = tuple(max(12, int(round(v * shrink))) for v in app)  # (w, h) px, >= 3 cells
        gw, gh = self.ltm_out[0] // 4, self.ltm_out[1] // 4
        self.ltm_cell_px = app / np.array([gw, gh])  # image px per cell at scale 1
        sigma = output_sigma(self.base_size * shrink, p.output_sigma_factor, 4)
        self.ltm_yf = dcf.fft2(gaussian_label(gh, gw, sigma).astype(np.float64))
        self.memory = self._memory_sample([self.center])[0]
        self._memory_train(self.memory, first=True)

    def _memory_sample(self, centers: list[np.ndarray]) -> np.ndarray:
        app = (self.base_size + 2 * self.params.ltm_margin) * self.scale
        patches = np.stack([sample_patch(self._image, c, app, self.ltm_out) for c in centers])
        return self.ltm_feature(patches).astype(np.float64)

    def _memory_train(self, x: np.ndarray, first: bool) -> None:
        xf = dcf.fft2(x)
        kf = dcf.gaussian_kernel(x, x, xf, xf, self.params.ltm_kernel_sigma)
        alphaf = dcf.solve_alpha(kf, self.ltm_yf, self.params.lam)
        old = None if first else (self.ltm_xf, self.ltm_x, self.ltm_alphaf)
        self.ltm_xf, self.ltm_x, self.ltm_alphaf = dcf.update_model(
            old, (xf, x, alphaf), self.params.interp_factor)

    def _memory_scores(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Max response of the memory filter on each sample ``N x C x h x w`` and its peak offset
        ``N x 2`` (dx, dy) in image px."""
        zf = dcf.fft2(z)
        kzf = dcf.gaussian_kernel(self.ltm_x, z, self.ltm_xf, zf, self.params.ltm_kernel_sigma)
        resp = dcf.kernel_response(self.ltm_alphaf, kzf, z.shape[-2:])
        scores, offsets = np.empty(len(z)), np.empty((len(z), 2))
        for i, r in enumerate(resp):
            dy, dx, peak = dcf.peak_offset(r, subpixel=False)
            scores[i] = peak
            offsets[i] = np.array([dx, dy]) * self.ltm_cell_px * self.scale
        return scores, offsets

    def _long_term(self, image: np.ndarray) -> None:
        """HCFT*: score the new position with the memory filter; below ``motion_thresh``, search
        a wider window; update the memory only when the score exceeds ``appearance_thresh``."""
        p = self.params
        self._image = image
        z = self._memory_sample([self.center])
        score = float(self._memory_scores(z)[0][0])
        if score < p.motion_thresh and p.redetect:
            best, where = self._redetect()
            # accept only a confident re-detection (one the memory would learn from), so that
            # a cluttered wide search does not pull the tracker off a hard but correct frame
            if best > max(score, p.appearance_thresh):
                self.center, score = where, best
                self._clamp_center()
                z = self._memory_sample([self.center])
        self.confidence = score
        if score > p.appearance_thresh:
            self._memory_train(z[0], first=False)

    def _redetect(self) -> tuple[float, np.ndarray]:
        """Candidates on a grid over ``redetect_factor`` x the search window, each scored by the
        memory filter (its peak refines the candidate's position)."""
        p = self.params
        region = self.window * self.scale * p.redetect_factor
        step = np.maximum(self.base_size * self.scale * p.redetect_step, 4.0)
        nx, ny = (int(v) for v in np.ceil(region / step / 2.0))
        H, W = self.frame_shape[:2]
        cands = [self.center + np.array([i, j]) * step
                 for j in range(-ny, ny + 1) for i in range(-nx, nx + 1)]
        cands = [c for c in cands if 0 <= c[0] < W and 0 <= c[1] < H] or [self.center]
        scores, offsets = self._memory_scores(self._memory_sample(cands))
        k = int(np.argmax(scores))
        return float(scores[k]), cands[k] + offsets[k]


def _parabola(left: float, center: float, right: float) -> float:
    """Sub-cell peak: vertex of the parabola through three samples (as :func:`dcf.peak_offset`)."""
    denom = left - 2.0 * center + right
    if denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))
