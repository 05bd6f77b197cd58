"""Target-aware channel selection: which channels of a pre-trained network matter for *this*
target, from the gradients of two losses on the first frame (TADT, Li, Ma, Wu, He, Yang, CVPR
2019, Sec. 3; the released ``TAF_model.m``).

* **Regression (target-active channels)**: a ridge-regression net — one convolution whose kernel
  spans the target — is trained to map the search window's features to a Gaussian label (paper
  eq. 1-3). A channel's importance is its global-average-pooled gradient ``GAP(dL/dX)`` (eq. 4);
  the released code ranks channels by the *summed converged weights* of the net instead, which
  after a few Adam steps from a ~1e-8 start are the accumulated (sign of the) gradients — we do
  as the code does (:func:`ridge_importance`).
* **Ranking (scale-sensitive channels)**: the target's features are resized to a range of
  scales and cropped at the target's size; a smooth ranking loss (LSEP, eq. 5) asks that a sample
  nearer the true scale scores higher than its neighbour further away. A channel's importance is
  the summed derivative of that loss with respect to the samples (:func:`ranking_importance`).
* :func:`select_channels` combines them as ``TAF_model.m`` does: keep the channels of positive
  regression importance, on conv4_1 also of positive ranking importance, at most 300 of conv4_3
  and 80 of conv4_1, at least 250 in all (topped up from conv4_3), and weight the two layers so
  that their strongest channels respond alike.

Feature maps are ``1 x C x H x W`` torch tensors on the stride-4 cell grid; labels ``H x W``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from regtrack.core.losses import crest_l2
from regtrack.core.regression import CorrelationConv, Multipliers, OnlineHead, target_kernel_size, train_head

SELECTION_MODES = ("both", "regression", "ranking", "none")


# ------------------------------------------------------------------------------------------------
# Regression: the ridge-regression net
# ------------------------------------------------------------------------------------------------


class RidgeRegressionNet(OnlineHead):
    """``TAF_net_init.m``: one ``C -> 1`` convolution with an odd kernel spanning the target
    (``2 ceil(s / 2) + 1`` cells), "same" padding, computed in the Fourier domain (it is a
    correlation filter); weights ``N(0, 1) / sqrt(rh rw C) / 1e8`` so that it starts at ~0, biases
    0; learning rate and decay multipliers 1 / 1e3 (weights) and 2 / 1e3 (bias)."""

    multipliers = {"conv.weight": Multipliers(1.0, 1e3), "conv.bias": Multipliers(2.0, 1e3)}

    def __init__(self, channels: int, kernel_hw: tuple[int, int], seed: int = 0) -> None:
        super().__init__()
        kh, kw = kernel_hw
        gen = torch.Generator().manual_seed(seed)
        scale = math.sqrt((kh // 2) * (kw // 2) * channels) * 1e8
        self.conv = CorrelationConv(channels, kernel_hw, torch.randn(channels, kh, kw, generator=gen) / scale)

    def forward(self, x: torch.Tensor, x_spectrum: torch.Tensor | None = None) -> torch.Tensor:
        return self.conv(x, x_spectrum)

    def training_cache(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"x_spectrum": self.conv.spectrum(x)}  # the features stay fixed over the iterations


def ridge_importance(features: torch.Tensor, label: torch.Tensor, template_hw: Sequence[int], *,
                     lr: float = 5e-7, weight_decay: float = 1.0, iterations: int = 100,
                     seed: int = 0) -> torch.Tensor:
    """Per-channel importance (``C``) of ``features`` (``1 x C x H x W``) for regressing
    ``label`` (``H x W``): train :class:`RidgeRegressionNet` (kernel spanning ``template_hw``
    cells) with Adam for ``iterations`` steps (``cnn_train_dag_ridge.m``: 100 epochs, lr 5e-7,
    weight decay 1 x the layer's 1e3) on CREST's exp-weighted L2 (the ``L2normLoss.m`` TADT
    shares), then sum each channel's converged kernel (``sum(sum(params(1).value))``)."""
    net = RidgeRegressionNet(features.shape[1], target_kernel_size(template_hw), seed)
    x = features.detach().float()
    y = label.reshape(1, 1, *label.shape[-2:]).to(x)
    train_head(net, (x,), y, loss=crest_l2, lr=lr, weight_decay=weight_decay, max_iterations=iterations)
    return net.conv.weight.detach().sum(dim=(1, 2))


# ------------------------------------------------------------------------------------------------
# Ranking: scale-sensitive channels
# ------------------------------------------------------------------------------------------------


def scale_ranked_samples(features: torch.Tensor, sample_hw: Sequence[int]
                         ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``gen_ranked_samples.m``: the ``H x H`` map (``1 x C x H x H``, ``H`` odd) resized to every
    odd side from the target's size up to about twice the map, symmetric about ``H`` itself, and
    from each the centred ``sample_hw`` crop (odd). Returns the samples ``S x C x h x w`` (smallest
    scale first), the scale ratios ``side / H`` and the adjacent pairs ``P x 2`` ``(nearer the true
    scale, further away)``, the labels being ``1 - (ratio - 1)^2``. Resizing is bilinear on the
    corner-aligned grid, as ``imresize_gpu.m`` samples."""
    side = int(features.shape[-1])
    half = np.asarray(sample_hw, int) // 2
    centre = side // 2 + 1  # MATLAB: floor(H / 2) + 1
    sides = np.arange(int(half.max()), 2 * (centre - 1) + 1) * 2 + 1
    c = int(np.flatnonzero(sides == side)[0])
    pad = min(c, len(sides) - 1 - c)
    sides = sides[c - pad: c + pad + 1]
    samples = []
    for s in sides:
        m = F.interpolate(features, size=(int(s), int(s)), mode="bilinear", align_corners=True)
        mid = (int(s) - 1) // 2
        samples.append(m[..., mid - half[0]: mid + half[0] + 1, mid - half[1]: mid + half[1] + 1])
    base = len(sides) // 2  # the true scale, labelled 1
    pairs = [(i + 1, i) for i in range(base)] + [(i, i + 1) for i in range(base, len(sides) - 1)]
    return torch.cat(samples), sides / side, np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def lsep_ranking_loss(scores: torch.Tensor, pairs: np.ndarray) -> torch.Tensor:
    """TADT eq. 5, the smooth (log-sum-exp pairwise, LSEP) ranking loss
    ``log(1 + sum_(i, j) exp(f(x_j) - f(x_i)))`` over pairs ``(i, j)`` where ``x_i`` should rank
    above ``x_j``."""
    p = torch.as_tensor(pairs)
    return torch.log1p(torch.exp(scores[p[:, 1]] - scores[p[:, 0]]).sum())


def lsep_derivative(scores: torch.Tensor, pairs: np.ndarray) -> torch.Tensor:
    """The derivative ``RankingLoss.m`` back-propagates for :func:`lsep_ranking_loss`, per sample:
    ``-(1 / L) sum_(i, j) [exp(-f_i) at i, -exp(f_j) at j]`` — the factorised form of the LSEP
    gradient (Li et al. CVPR 2017) that the released code uses in place of the exact one."""
    p = torch.as_tensor(pairs)
    loss = lsep_ranking_loss(scores, pairs)
    der = torch.zeros_like(scores)
    der.index_add_(0, p[:, 0], torch.exp(-scores[p[:, 0]]))
    der.index_add_(0, p[:, 1], -torch.exp(scores[p[:, 1]]))
    return -der / loss


def ranking_importance(features: torch.Tensor, template_hw: Sequence[int], seed: int = 0) -> torch.Tensor:
    """Per-channel importance (``C``) of ``features`` (``1 x C x H x H``) for ranking the target's
    scales (``TAF_model.m``'s ``rank_selection``): score each sample of
    :func:`scale_ranked_samples` (crops of the kernel's size, ``2 ceil(s / 2) + 1`` cells) with a
    ``C -> 1`` convolution at the authors' initialisation (weights ``N(0, 1) / sqrt(rh rw C) /
    1e8``, never trained), back-propagate :func:`lsep_derivative` to the samples, and sum the
    derivative over samples and positions.

    Note: at that initialisation every score is ~1e-6, so the per-sample derivatives are about
    ``(+1, 0, ..., -2, ..., 0, +1) / L`` and nearly cancel; the importance of channel ``c`` is
    then ``(sum_s der_s) x sum(w_c)``, and which channels pass is set mostly by the signs of the
    random kernel. We keep the released rule (it made the published results) and measure it
    (the ``selection`` ablation of ``benchmarks/bench_tadt.py``)."""
    kh, kw = target_kernel_size(template_hw)
    samples, _, pairs = scale_ranked_samples(features.detach().float(), (kh, kw))
    gen = torch.Generator().manual_seed(seed)
    c = samples.shape[1]
    weight = torch.randn(1, c, kh, kw, generator=gen) / (math.sqrt((kh // 2) * (kw // 2) * c) * 1e8)
    with torch.enable_grad():
        samples.requires_grad_(True)
        scores = F.conv2d(samples, weight).flatten()  # one score per sample: the kernel spans it
        scores.backward(lsep_derivative(scores.detach().double(), pairs).float())
    return samples.grad.sum(dim=(0, 2, 3))


# ------------------------------------------------------------------------------------------------
# The selection of TAF_model.m
# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ChannelSelection:
    """Per layer: the kept channel indices (in decreasing importance), every channel's importance
    (regression, or ranking for ``mode="ranking"``; ``None`` for ``"none"``), and the layer's
    balance weight (multiplies its features so the layers' strongest channels respond alike)."""

    channels: dict[str, np.ndarray]
    importance: dict[str, np.ndarray | None]
    ranking: dict[str, np.ndarray]
    balance: dict[str, float]

    @property
    def total(self) -> int:
        return int(sum(len(v) for v in self.channels.values()))


def select_channels(features: Mapping[str, torch.Tensor], template_hw: Sequence[int], label: torch.Tensor, *,
                    counts: Mapping[str, int], ranking_layers: Sequence[str] = ("conv4_1",),
                    minimum_total: int = 250, mode: str = "both", balance_top: int = 50,
                    ridge_lr: float = 5e-7, ridge_weight_decay: float = 1.0, ridge_iterations: int = 100,
                    seed: int = 0) -> ChannelSelection:
    """``TAF_model.m``'s selection on the first frame's search-window ``features`` (layer ->
    ``1 x C x H x W``; ``counts`` gives each layer's maximum, the first layer of ``counts`` is
    the one topped up to ``minimum_total``), for a target of ``template_hw`` cells and a Gaussian
    ``label`` over the map.

    ``mode``: ``both`` (the paper): regression importance > 0, and on ``ranking_layers`` also
    ranking importance > 0, the first ``counts[layer]`` by regression importance; ``regression``:
    no ranking; ``ranking``: ranking importance > 0 on every layer, the first ``counts`` by it;
    ``none``: every channel. The balance weight of a layer is ``b_0 / b_layer`` with ``b`` the
    peak of the sum of its ``balance_top`` most important channels (``w_balance``; by mean
    activation for ``none``), ``b_0`` that of the first layer of ``counts``."""
    if mode not in SELECTION_MODES:
        raise ValueError(f"selection must be one of {', '.join(SELECTION_MODES)}, not {mode!r}")
    layers = list(counts)
    channels: dict[str, np.ndarray] = {}
    importance: dict[str, np.ndarray | None] = {}
    ranking: dict[str, np.ndarray] = {}
    order: dict[str, np.ndarray] = {}
    kept_total = 0
    # TAF_model.m visits the layers deepest-last, so the top-up happens on the first of ``counts``
    for layer in reversed(layers):
        x = features[layer]
        n = x.shape[1]
        if layer in ranking_layers or mode == "ranking":
            ranking[layer] = ranking_importance(x, template_hw, seed).numpy()
        if mode == "none":
            importance[layer] = None
            order[layer] = np.argsort(-x.mean(dim=(0, 2, 3)).numpy(), kind="stable")
            channels[layer] = np.arange(n)
            continue
        if mode == "ranking":
            score = ranking[layer]
        else:
            score = ridge_importance(x, label, template_hw, lr=ridge_lr, weight_decay=ridge_weight_decay,
                                     iterations=ridge_iterations, seed=seed).numpy()
        importance[layer] = score
        order[layer] = np.argsort(-score, kind="stable")
        keep = score > 0
        if mode == "both" and layer in ranking_layers:
            keep &= ranking[layer] > 0
        keep[order[layer][counts[layer]:]] = False
        kept_total += int(keep.sum())
        if layer == layers[0] and kept_total < minimum_total:
            # ``added_inds = i(sum(w) + 1 : sum(w) + nz_min - nz)``: the next ones in order
            start = int(keep.sum())
            keep[order[layer][start: start + minimum_total - kept_total]] = True
        channels[layer] = order[layer][keep[order[layer]]]
    peaks = {layer: float(features[layer][0, order[layer][:balance_top]].sum(dim=0).max())
             for layer in layers}
    ref = peaks[layers[0]]
    balance = {layer: ref / peaks[layer] if peaks[layer] > 0 else 1.0 for layer in layers}
    return ChannelSelection(channels, importance, ranking, balance)
