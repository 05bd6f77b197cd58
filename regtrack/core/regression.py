"""Online deep regression: a small convolutional head trained on one frame's features against a
Gaussian label, then updated as tracking goes (CREST, Song et al. ICCV 2017; DSLT, Lu et al.
ECCV 2018).

The head (CREST Fig. 2, ``initNet.m``) sums three branches over ``N x C x H x W`` features:

* **base layer** — one ``C -> 1`` convolution whose kernel spans the target
  (``2 ceil(size / 2) + 1`` cells, :func:`target_kernel_size`). It *is* a correlation filter
  (CREST sec. 3.1: "we reformulate DCFs as a one-layer convolutional neural network"), learnt
  by gradient descent instead of in closed form. A kernel of 30 x 30 over 64 channels is
  ~58 k multiply-adds per output pixel, so it is computed in the Fourier domain
  (:class:`CorrelationConv`), where one product per frequency replaces the sliding window;
  the input's spectrum is computed once per sample and reused over all iterations.
* **spatial residual** — 1x1 convs ``C -> C``, ReLU, ``C -> C``, ReLU, ``C -> 1`` on the same
  features: it learns what the linear base layer misses on the current frame (CREST eq. 3).
* **temporal residual** — a 1x1 ``C -> 1`` conv on the *first* frame's features, which keeps
  the first appearance in the output however much the other branches drift (CREST eq. 4).

Training (:func:`train_head`) is Adam on a loss of :mod:`regtrack.core.losses`, with each
parameter's learning rate and weight decay the global ones times its own multipliers (as
MatConvNet's ``cnn_train_dag.m`` does), until the reported loss falls under a threshold or an
iteration cap. :class:`SampleBuffer` keeps the recent samples the online updates train on.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import scipy.fft
import torch
import torch.nn.functional as F
from torch import nn


def target_kernel_size(target_cells: Sequence[float]) -> tuple[int, int]:
    """The base layer's kernel ``(kh, kw)``, odd, spanning the target: ``2 ceil(s / 2) + 1`` for
    the target's size ``s = (h, w)`` in cells (``initNet.m``: ``fh = 2 * ceil(h / 2) + 1``)."""
    return tuple(2 * math.ceil(float(s) / 2) + 1 for s in target_cells)  # type: ignore[return-value]


class CorrelationConv(nn.Module):
    """A ``C -> 1`` convolution (cross-correlation, as CNN layers compute) with a ``kh x kw``
    kernel, computed with FFTs.

    ``padding="same"`` (odd kernels; CREST): ``out[y, x] = bias + sum_c sum_ij w[c, i, j]
    x[c, y + i - rh, x + j - rw]`` with ``rh = kh // 2``, zero outside: exactly
    ``F.conv2d(x, w[None], padding=(rh, rw))``, an ``H x W`` output. ``padding="valid"`` (any
    kernel; DSLT's Caffe layers with ``pad: 0``): ``rh = rw = 0`` and the ``(H - kh + 1) x
    (W - kw + 1)`` positions where the kernel fits. The transform size is at least
    ``H + kh - 1`` so the circular correlation does not wrap (a linear correlation).
    """

    def __init__(self, channels: int, kernel_hw: tuple[int, int], weight: torch.Tensor | None = None,
                 padding: str = "same") -> None:
        super().__init__()
        kh, kw = kernel_hw
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', not {padding!r}")
        if padding == "same" and (kh % 2 == 0 or kw % 2 == 0):
            raise ValueError(f"kernel {kernel_hw} must be odd for 'same' padding")
        self.kernel_hw = (kh, kw)
        self.padding = padding
        self.weight = nn.Parameter(weight if weight is not None else torch.zeros(channels, kh, kw))
        self.bias = nn.Parameter(torch.zeros(1))

    def fft_size(self, hw: tuple[int, int]) -> tuple[int, int]:
        return tuple(scipy.fft.next_fast_len(n + k - 1, real=True)  # type: ignore[return-value]
                     for n, k in zip(hw, self.kernel_hw, strict=True))

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """The input's spectrum for :meth:`forward` (compute once, reuse over iterations)."""
        return torch.fft.rfft2(x, s=self.fft_size(tuple(x.shape[-2:])))

    def forward(self, x: torch.Tensor, x_spectrum: torch.Tensor | None = None) -> torch.Tensor:
        """``N x C x H x W`` -> ``N x 1 x H x W``; ``x_spectrum`` from :meth:`spectrum`, if known."""
        h, w = x.shape[-2:]
        size = self.fft_size((h, w))
        xf = x_spectrum if x_spectrum is not None else torch.fft.rfft2(x, s=size)
        wf = torch.fft.rfft2(self.weight, s=size)
        # correlation theorem: corr = ifft(X conj(W)); sum over channels before the inverse
        corr = torch.fft.irfft2((xf * wf.conj()).sum(dim=1, keepdim=True), s=size)
        # corr[t] holds the window starting at offset t
        if self.padding == "valid":
            return corr[..., : h - self.kernel_hw[0] + 1, : w - self.kernel_hw[1] + 1] + self.bias
        rh, rw = self.kernel_hw[0] // 2, self.kernel_hw[1] // 2
        # "same": output y's window starts at y - rh (wrapped round to the end)
        out = torch.roll(corr, shifts=(rh, rw), dims=(-2, -1))[..., :h, :w]
        return out + self.bias


@dataclasses.dataclass(frozen=True)
class Multipliers:
    """A parameter's learning rate and weight decay, relative to the global ones (MatConvNet's
    ``params(f).learningRate`` / ``weightDecay``)."""

    lr: float = 1.0
    decay: float = 1.0


# CREST's ``initNet.m``: (weight init scale divisor, weight multipliers, bias multipliers)
CREST_BASE = (1e8, Multipliers(1.0, 1e3), Multipliers(2.0, 1e3))
CREST_SPATIAL = ((1e8, 1.0, 1.0), Multipliers(1.0, 1.0), Multipliers(2.0, 1.0))
CREST_TEMPORAL = (1e10, Multipliers(1e-2, 1e3), Multipliers(2e-2, 1e3))


class OnlineHead(nn.Module):
    """What :func:`train_head` needs of a head: per-parameter :class:`Multipliers` (by parameter
    name), and optionally a cache of per-sample work reused over iterations."""

    multipliers: dict[str, Multipliers]

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """Adam parameter groups with each parameter's multipliers applied."""
        groups = []
        for name, param in self.named_parameters():
            m = self.multipliers.get(name, Multipliers())
            groups.append({"params": [param], "lr": lr * m.lr, "weight_decay": weight_decay * m.decay})
        return groups

    def training_cache(self, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Keyword arguments for ``forward`` that depend only on the inputs (none by default)."""
        return {}


class RegressionHead(OnlineHead):
    """CREST's online regression head: base layer + spatial residual + temporal residual (see
    the module docstring). Either residual can be switched off (the paper's ablation).

    Initial weights follow ``initNet.m``: Gaussian, scaled by ``1 / sqrt(fan-in)``, and for the
    base layer, the first spatial conv and the temporal conv further divided by 1e8 / 1e8 / 1e10
    so that the untrained head outputs ~0; biases 0. ``seed`` makes them reproducible.
    """

    def __init__(self, channels: int, kernel_hw: tuple[int, int], *, spatial_residual: bool = True,
                 temporal_residual: bool = True, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        kh, kw = kernel_hw
        rh, rw = max(kh // 2, 1), max(kw // 2, 1)  # initNet.m: rh = ceil(h / 2)

        def randn(*shape: int, fan_in: float, divisor: float) -> torch.Tensor:
            return torch.randn(*shape, generator=gen) / math.sqrt(fan_in) / divisor

        self.base = CorrelationConv(channels, kernel_hw,
                                    randn(channels, kh, kw, fan_in=rh * rw * channels, divisor=CREST_BASE[0]))
        self.multipliers: dict[str, Multipliers] = {"base.weight": CREST_BASE[1], "base.bias": CREST_BASE[2]}
        self.spatial: nn.Sequential | None = None
        self.temporal: nn.Conv2d | None = None
        if spatial_residual:
            convs = [nn.Conv2d(channels, channels, 1), nn.Conv2d(channels, channels, 1),
                     nn.Conv2d(channels, 1, 1)]
            for conv, divisor in zip(convs, CREST_SPATIAL[0], strict=True):
                conv.weight.data = randn(*conv.weight.shape, fan_in=channels, divisor=divisor)
                conv.bias.data.zero_()
            self.spatial = nn.Sequential(convs[0], nn.ReLU(), convs[1], nn.ReLU(), convs[2])
            for i in (0, 2, 4):
                self.multipliers[f"spatial.{i}.weight"] = CREST_SPATIAL[1]
                self.multipliers[f"spatial.{i}.bias"] = CREST_SPATIAL[2]
        if temporal_residual:
            self.temporal = nn.Conv2d(channels, 1, 1)
            self.temporal.weight.data = randn(1, channels, 1, 1, fan_in=channels, divisor=CREST_TEMPORAL[0])
            self.temporal.bias.data.zero_()
            self.multipliers["temporal.weight"] = CREST_TEMPORAL[1]
            self.multipliers["temporal.bias"] = CREST_TEMPORAL[2]

    def branches(self, x: torch.Tensor, x_first: torch.Tensor | None = None,
                 x_spectrum: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Each branch's output, ``N x 1 x H x W``: ``base``, and ``spatial`` / ``temporal`` when
        the head has them (the residual picture draws these). ``x_first``: the first frame's
        features (``1 x C x H x W``, broadcast over the batch)."""
        out = {"base": self.base(x, x_spectrum)}
        if self.spatial is not None:
            out["spatial"] = self.spatial(x)
        if self.temporal is not None:
            if x_first is None:
                raise ValueError("the temporal residual needs the first frame's features")
            out["temporal"] = self.temporal(x_first).expand(x.shape[0], -1, -1, -1)
        return out

    def forward(self, x: torch.Tensor, x_first: torch.Tensor | None = None,
                x_spectrum: torch.Tensor | None = None) -> torch.Tensor:
        """The regression map: the sum of the branches (CREST eq. 5)."""
        return sum(self.branches(x, x_first, x_spectrum).values())  # type: ignore[return-value]

    def training_cache(self, x: torch.Tensor, x_first: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The base layer's input spectrum: the features do not change while training."""
        return {"x_spectrum": self.base.spectrum(x)}


@dataclasses.dataclass
class TrainResult:
    """What one call of :func:`train_head` did: the reported loss per iteration (the convergence
    picture plots it), whether it stopped under the threshold, and the ``monitor`` value per
    iteration (a measure common to all losses, for comparing them)."""

    losses: list[float]
    converged: bool
    monitored: list[float] = dataclasses.field(default_factory=list)

    @property
    def iterations(self) -> int:
        return len(self.losses)


def train_head(head: OnlineHead, inputs: Sequence[torch.Tensor | None] | Callable[[int], Sequence],
               labels: torch.Tensor | Callable[[int], torch.Tensor], *,
               loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], lr: float, weight_decay: float,
               max_iterations: int, stop_below: float | None = None,
               report: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
               betas: tuple[float, float] = (0.9, 0.999),
               optimiser: torch.optim.Optimizer | None = None,
               monitor: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> TrainResult:
    """Train ``head`` on ``head(*inputs)`` against ``labels`` (``N x 1 x H x W``) with Adam, for
    at most ``max_iterations`` or until ``report(prediction, labels)`` (default: the loss) falls
    under ``stop_below`` — checked after each step on that step's prediction, as the released
    codes check their statistics.

    The gradient is the loss gradient + decay x weight (MatConvNet's and Caffe's weight decay:
    torch's ``weight_decay``). ``optimiser``: reuse one Adam state across calls (DSLT keeps its
    Caffe solver for the whole sequence); default a fresh one per call (CREST's
    ``cnn_train_dag.m`` starts from an empty solver state). ``inputs`` / ``labels`` may be
    functions of the iteration (DSLT draws one augmented first-frame patch per iteration);
    fixed inputs reuse ``head.training_cache``. ``monitor(prediction, labels)`` is recorded per
    iteration and does not stop anything.
    """
    if optimiser is None:
        optimiser = torch.optim.Adam(head.param_groups(lr, weight_decay), betas=betas, eps=1e-8)
    fixed = not callable(inputs)
    cache = head.training_cache(*inputs) if fixed else {}
    losses: list[float] = []
    monitored: list[float] = []
    head.train()
    with torch.enable_grad():
        for it in range(max_iterations):
            x = inputs if fixed else inputs(it)
            y = labels(it) if callable(labels) else labels
            optimiser.zero_grad(set_to_none=True)
            prediction = head(*x, **cache)
            value = loss(prediction, y)
            value.backward()
            optimiser.step()
            reported = float((report(prediction, y) if report is not None else value).detach())
            losses.append(reported)
            if monitor is not None:
                monitored.append(float(monitor(prediction.detach(), y)))
            if not math.isfinite(reported):
                break
            if stop_below is not None and reported < stop_below:
                return TrainResult(losses, True, monitored)
    return TrainResult(losses, False, monitored)


class SampleBuffer:
    """The last ``capacity`` training samples (features and their shifted labels) for online
    updates: CREST trains on the ``num_update = 2`` frames since its last update, DSLT on a
    buffer of 7. A sample's features are one tensor or a tuple of them (DSLT: conv4_3, conv5_3);
    :meth:`batch` needs single tensors."""

    def __init__(self, capacity: int) -> None:
        self.features: deque[torch.Tensor | tuple[torch.Tensor, ...]] = deque(maxlen=capacity)
        self.labels: deque[torch.Tensor] = deque(maxlen=capacity)

    def add(self, features: torch.Tensor | tuple[torch.Tensor, ...], label: torch.Tensor) -> None:
        self.features.append(features)
        self.labels.append(label)

    def __len__(self) -> int:
        return len(self.features)

    def clear(self) -> None:
        self.features.clear()
        self.labels.clear()

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N x C x H x W, N x 1 x H x W)`` of the buffered samples."""
        return torch.stack(list(self.features)), torch.stack(list(self.labels))


def pca_projection(features: np.ndarray, channels: int) -> np.ndarray:
    """The ``C x channels`` matrix of the first principal directions of ``features``
    (``H x W x C`` or ``M x C`` samples), as MATLAB's ``pca`` returns them: the data centred
    for the fit, each direction's largest component positive. CREST projects the *uncentred*
    features with it (``feat * coeff``), and so should a caller."""
    x = np.asarray(features, dtype=np.float64).reshape(-1, features.shape[-1])
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    coeff = vt[:channels].T
    if coeff.shape[1] < channels:  # fewer samples than channels: pad with zero directions
        coeff = np.pad(coeff, ((0, 0), (0, channels - coeff.shape[1])))
    signs = np.sign(coeff[np.abs(coeff).argmax(axis=0), np.arange(coeff.shape[1])])
    signs[signs == 0] = 1.0
    return (coeff * signs).astype(np.float32)


def resize_maps(maps: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``N x C x h x w`` maps to ``hw`` (Piotr's ``imResample``, which CREST
    uses to bring the stride-8 conv4_3 maps to its 4-px cell grid)."""
    if tuple(maps.shape[-2:]) == tuple(hw):
        return maps
    return F.interpolate(maps, size=hw, mode="bilinear", align_corners=False)
