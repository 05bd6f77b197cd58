"""Unsupervised training of the UDT network (Wang, Song, Ma, Zhou, Liu, Li: "Unsupervised Deep
Tracking", CVPR 2019), following the authors' MatConvNet code (594422814/UDT ``train/``).

* **Forward-backward tracking through a differentiable DCF** (sec. 3.1-3.2, eq. 1-4): a filter
  learned on the template ``x`` with the initial Gaussian label (eq. 1-2) tracks to ``z1``; the
  argmax of that response becomes ``z1``'s pseudo label (a shifted Gaussian, ``DCF.m``), a filter
  learned on ``z1`` tracks to ``z2``, and from ``z2`` back to ``x`` (multiple-frame validation,
  sec. 3.3, eq. 6). The loss compares the final response on ``x`` with the initial label (eq. 5).
  The filter layer is :mod:`regtrack.core.dcf` itself, run on torch tensors (autograd gives the
  gradients of eq. 4); as in ``DCF.m`` there is no cosine window and the kernel is divided by
  ``h*w*c``; no gradient flows through the pseudo labels.
* **Cost-sensitive loss** (sec. 3.3, eq. 7-8; ``ResponseLossL2.m``): the 10 % of the batch with the
  highest loss are dropped; the rest are weighted by their motion
  ``||R_z1 - Y_x||^2 + ||R_z1 - R_z2||^2`` normalised to mean 1 over the batch, times a spatial
  weight ``exp(Y_x)``.
* **Optimiser** (``train_UDT.m``): SGD, momentum 0.9, weight decay 5e-4, batch 32, learning rate
  log-spaced from 1e-2 to 1e-5 over the epochs. MatConvNet's ``cnn_train_dag`` divides the
  gradient by the batch size on top of the loss's own ``1/N``; ``matconvnet_grad_scale`` keeps
  that scaling.
* **Supervised baseline** (``supervised=True``): crops centred on the ground-truth boxes and the
  DCFNet loss ``||R_z - Y||^2`` between one template and one search frame.

Checkpoints are written atomically after every epoch (``OUT.ckpt``, with the optimiser and RNG
states) so ``resume=True`` continues exactly; the weights file ``OUT`` is regtrack's weights format.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regtrack.core import dcf
from regtrack.core.labels import gaussian_label, output_sigma
from regtrack.errors import RegtrackError
from regtrack.features.udt_net import UDTNet, atomic_torch_save, init_udt_net, save_udt_weights
from regtrack.trackers.base import hyper
from regtrack.training.data import CropBank, build_crops, find_videos, sample_triplets


@dataclass
class TrainConfig:
    """Hyperparameters; defaults are the paper's / ``train_UDT.m``'s unless noted."""

    epochs: int = hyper(50, ge=1, le=10000, doc="passes over the training pairs (train_UDT.m: 50)")
    batch_size: int = hyper(32, ge=1, le=4096, doc="triplets per step (train_UDT.m: 32)")
    lr_start: float = hyper(1e-2, gt=0, le=10, doc="learning rate of the first epoch, log-spaced to lr_end")
    lr_end: float = hyper(1e-5, gt=0, le=10, doc="learning rate of the last epoch")
    momentum: float = hyper(0.9, ge=0, lt=1, doc="SGD momentum")
    weight_decay: float = hyper(5e-4, ge=0, le=1, doc="L2 weight decay")
    matconvnet_grad_scale: bool = hyper(True, doc="gradient / batch_size, as cnn_train_dag does")
    pairs_per_epoch: int | None = hyper(None, ge=1, doc="none: one pass over the usable frames")
    input_size: int = hyper(125, ge=16, le=512, doc="crop size in pixels")
    padding: float = hyper(2.0, ge=0, le=20, doc="crop = (1 + padding) x pseudo box")
    output_sigma_factor: float = hyper(0.1, gt=0, le=10, doc="label sigma = sqrt(prod(125 / 3)) x factor")
    lam: float = hyper(1e-4, gt=0, le=1e3, doc="ridge regularisation lambda of the DCF layer")
    max_step: int = hyper(10, ge=1, le=1000, doc="search frames within this many frames of the template")
    pseudo_grid: int = hyper(1, ge=1, le=8, doc="K x K pseudo tracks per video (1: the paper's central box)")
    drop_ratio: float = hyper(0.1, ge=0, lt=1, doc="cost-sensitive: drop this share of highest-loss samples")
    multi_frame: bool = hyper(True, doc="x -> z1 -> z2 -> x (false: x -> z1 -> x)")
    cost_sensitive: bool = hyper(True, doc="drop + motion weight + spatial weight (false: plain L2)")
    supervised: bool = hyper(False, doc="ground-truth crops, DCFNet loss")
    seed: int = hyper(0, ge=0, doc="random seed")
    threads: int = hyper(1, ge=0, le=256, doc="torch threads (0: torch's own setting)")

    def lr(self, epoch: int) -> float:
        """``logspace(log10(lr_start), log10(lr_end), epochs)[epoch]``."""
        if self.epochs <= 1:
            return self.lr_start
        t = epoch / (self.epochs - 1)
        return float(10 ** (math.log10(self.lr_start) * (1 - t) + math.log10(self.lr_end) * t))


# --------------------------------------------------------------------------------------------
# the differentiable tracker and the losses


class ForwardBackward:
    """The DCF tracking steps and losses on feature maps ``B x C x H x W`` (torch)."""

    def __init__(self, size: int, sigma: float, lam: float) -> None:
        self.size = size
        self.lam = lam
        self.y = torch.from_numpy(gaussian_label(size, size, sigma))  # peak at [0, 0] (DCF.m)
        self.yf = dcf.fft2(self.y)
        fy = torch.fft.fftfreq(size).view(-1, 1)
        fx = torch.fft.rfftfreq(size).view(1, -1)
        self._fy, self._fx = fy, fx

    def shifted_labelf(self, response: torch.Tensor) -> torch.Tensor:
        """Spectrum of the Gaussian label moved to each response's argmax (``DCF.m``: circshift of
        the label to the peak), by the shift theorem; no gradient."""
        with torch.no_grad():
            b, h, w = response.shape
            idx = response.reshape(b, -1).argmax(1)
            r, c = (idx // w).float().view(b, 1, 1), (idx % w).float().view(b, 1, 1)
            phase = torch.exp(-2j * math.pi * (self._fy * r + self._fx * c))
            return self.yf * phase

    def track(self, x: torch.Tensor, z: torch.Tensor, yf: torch.Tensor) -> torch.Tensor:
        """Learn on ``x`` with label spectrum ``yf`` (eq. 2), respond on ``z`` (eq. 3)."""
        n = x.shape[-3] * x.shape[-2] * x.shape[-1]
        xf, zf = dcf.fft2(x), dcf.fft2(z)
        alphaf = dcf.solve_alpha(dcf.linear_kernel(xf, xf, n), yf, self.lam)
        return dcf.kernel_response(alphaf, dcf.linear_kernel(xf, zf, n), (x.shape[-2], x.shape[-1]))


def cost_weights(
    err: torch.Tensor, y: torch.Tensor, r1: torch.Tensor, r2: torch.Tensor | None, drop_ratio: float
) -> torch.Tensor:
    """The cost-sensitive weights of eq. 7-8 (``ResponseLossL2.m``), ``B x H x W``, no gradient:
    drop the ``drop_ratio`` highest-loss samples, weight the rest by their motion
    ``||R_z1 - Y||^2 (+ ||R_z1 - R_z2||^2)`` normalised to sum to B, times ``exp(Y)``."""
    with torch.no_grad():
        b = err.shape[0]
        per_sample = err.sum((1, 2))
        keep = torch.zeros(b)
        keep[per_sample.argsort()[: int(round((1 - drop_ratio) * b))]] = 1.0
        motion = ((r1 - y) ** 2).sum((1, 2))
        if r2 is not None:
            motion = motion + ((r1 - r2) ** 2).sum((1, 2))
        motion = motion * keep
        motion = motion / motion.sum().clamp_min(1e-12) * b
        return motion.view(b, 1, 1) * torch.exp(y)


def batch_loss(
    net: UDTNet, fb: ForwardBackward, batch: torch.Tensor, cfg: TrainConfig, chunk: int = 4
) -> torch.Tensor:
    """The batch's loss (eq. 5, or eq. 7-8 when cost-sensitive), a mean over the batch.
    ``batch``: ``B x K x 3 x S x S`` RGB floats (K = 3 frames: x, z1, z2). The batch runs in chunks
    of ``chunk`` samples (same result; small tensors are recycled by the allocator instead of
    being fresh, page-faulting memory each time, which costs more than the arithmetic on a CPU)."""
    b = batch.shape[0]
    finals, r1s, r2s = [], [], []
    for part in batch.split(chunk):
        n, k = part.shape[:2]
        feats = net(part.flatten(0, 1)).view(n, k, 32, fb.size, fb.size)
        x, z1, z2 = feats[:, 0], feats[:, 1], feats[:, 2 % k]
        yf = fb.yf.expand(n, *fb.yf.shape)
        r1 = fb.track(x, z1, yf)  # forward x -> z1 (supervised: the DCFNet response)
        if cfg.supervised:
            finals.append(r1)
            continue
        if cfg.multi_frame:  # x -> z1 -> z2 -> x (sec. 3.3)
            r2 = fb.track(z1, z2, fb.shifted_labelf(r1))
            finals.append(fb.track(z2, x, fb.shifted_labelf(r2)))
            r2s.append(r2.detach())
        else:  # x -> z1 -> x (sec. 3.2)
            finals.append(fb.track(z1, x, fb.shifted_labelf(r1)))
        r1s.append(r1.detach())
    final = torch.cat(finals)
    err = (final - fb.y) ** 2
    if cfg.supervised or not cfg.cost_sensitive:
        return err.sum() / b
    weight = cost_weights(err, fb.y, torch.cat(r1s), torch.cat(r2s) if r2s else None, cfg.drop_ratio)
    return (err * weight).sum() / b


def tune_allocator() -> None:
    """Keep freed memory in the process (glibc ``mallopt``): training allocates the same few hundred
    tensors every step, and returning them to the kernel makes every step page-fault them back."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD: the largest glibc allows
        libc.mallopt(-1, 1 << 34)  # M_TRIM_THRESHOLD: never trim the heap
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


# --------------------------------------------------------------------------------------------
# the loop


def _checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".ckpt")


def train_udt(
    videos: str | Path,
    out: str | Path,
    cfg: TrainConfig | None = None,
    resume: bool = False,
    progress: bool = True,
    log: Any = print,
) -> dict[str, Any]:
    """Train, checkpointing each epoch; returns the history. ``out`` gets the final weights,
    ``out.ckpt`` the resumable state, ``out.loss.png`` the loss curve, ``out.json`` the history."""
    from tqdm import tqdm

    cfg = cfg or TrainConfig()
    out = Path(out)
    ckpt_path = _checkpoint_path(out)
    torch.set_num_threads(max(1, cfg.threads))
    state: dict[str, Any] | None = None
    if resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        saved = state.get("config", {})
        for key in ("supervised", "multi_frame", "cost_sensitive", "epochs", "batch_size", "seed",
                    "pseudo_grid"):
            if key in saved and saved[key] != getattr(cfg, key):
                raise RegtrackError(
                    f"--resume with {key}={getattr(cfg, key)} but the checkpoint has {saved[key]}",
                    path=ckpt_path,
                    fix="use the same options, or delete the checkpoint",
                )
    elif resume:
        log(f"no checkpoint at {ckpt_path}; starting from scratch")

    found = find_videos(videos, need_boxes=cfg.supervised)
    log(
        f"{len(found)} videos, {sum(len(v.frames) for v in found)} frames under {videos}"
        + (" (ground-truth crops)" if cfg.supervised else
           " (unlabelled: central pseudo boxes)" if cfg.pseudo_grid == 1 else
           f" (unlabelled: {cfg.pseudo_grid}x{cfg.pseudo_grid} pseudo boxes a frame)")
    )
    bank: CropBank = build_crops(found, cfg.supervised, cfg.input_size, cfg.padding, cfg.max_step, progress,
                                   cfg.pseudo_grid)
    pairs = cfg.pairs_per_epoch or len(bank.usable)
    steps = max(1, pairs // cfg.batch_size)

    net = init_udt_net(cfg.seed, padding=0)  # the training geometry of init_UDT.m: 125 -> 121
    _matconvnet_init(net, cfg.seed)
    fsize = cfg.input_size - 4
    sigma = output_sigma(np.array([cfg.input_size] * 2) / (1.0 + cfg.padding), cfg.output_sigma_factor)
    fb = ForwardBackward(fsize, sigma, cfg.lam)
    opt = torch.optim.SGD(
        net.parameters(), lr=cfg.lr(0), momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    history: dict[str, Any] = {"epoch_loss": [], "step_loss": [], "lr": [], "seconds": []}
    start_epoch = 0
    if state is not None:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history = state["history"]
        start_epoch = int(state["epoch"]) + 1
        log(f"resuming after epoch {start_epoch} of {cfg.epochs}")

    scale = 1.0 / cfg.batch_size if cfg.matconvnet_grad_scale else 1.0
    for epoch in range(start_epoch, cfg.epochs):
        # each epoch has its own seeded stream, so a resumed run samples what an unbroken one would
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 1000 + epoch)
        for group in opt.param_groups:
            group["lr"] = cfg.lr(epoch)
        net.train()
        t0, losses = time.time(), []
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not progress)
        for _ in bar:
            idx = sample_triplets(bank, cfg.batch_size, rng)
            batch = torch.from_numpy(bank.crops[idx]).permute(0, 1, 4, 2, 3).float()
            loss = batch_loss(net, fb, batch, cfg)
            opt.zero_grad(set_to_none=True)
            (loss * scale).backward()
            opt.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise RegtrackError(
                    f"the loss became {value} in epoch {epoch + 1}",
                    path=ckpt_path,
                    fix="lower --lr, or --resume from the last good checkpoint",
                )
            losses.append(value)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}", lr=f"{cfg.lr(epoch):.1e}")
        history["epoch_loss"].append(float(np.mean(losses)))
        history["step_loss"].extend(losses)
        history["lr"].append(cfg.lr(epoch))
        history["seconds"].append(time.time() - t0)
        atomic_torch_save(
            {
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "history": history,
                "config": dataclasses.asdict(cfg),
            },
            ckpt_path,
        )
        save_udt_weights(net, out, meta=_meta(cfg, videos, bank, epoch + 1, history))
        _plot(history, out.with_name(out.name + ".loss.png"), cfg)
        log(
            f"epoch {epoch + 1}/{cfg.epochs}: loss {history['epoch_loss'][-1]:.4f}, lr {cfg.lr(epoch):.1e}, "
            f"{history['seconds'][-1]:.0f} s; saved {out}"
        )
    out.with_name(out.name + ".json").write_text(
        json.dumps({"config": dataclasses.asdict(cfg), "videos": str(videos), "history": history}, indent=1)
    )
    return history


def _matconvnet_init(net: UDTNet, seed: int) -> None:
    """``dagnn.Conv.initParams``: weights ``randn * sqrt(2 / (h*w*in))``, biases 0 (seeded)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for conv in (net.conv1, net.conv2):
            fan_in = conv.weight.shape[1] * conv.weight.shape[2] * conv.weight.shape[3]
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
            conv.bias.zero_()


def _meta(cfg: TrainConfig, videos: str | Path, bank: CropBank, epochs_done: int, history: dict) -> dict:
    return {
        "trained_by": "regtrack train udt",
        "videos": str(videos),
        "n_videos": len(bank.names),
        "n_crops": int(len(bank.crops)),
        "epochs_done": epochs_done,
        "final_loss": history["epoch_loss"][-1] if history["epoch_loss"] else None,
        "config": dataclasses.asdict(cfg),
    }


def _plot(history: dict, path: Path, cfg: TrainConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.asarray(history["step_loss"])
    if steps.size:
        ax.plot(np.arange(1, steps.size + 1), steps, lw=0.5, alpha=0.4, label="batch")
        per = max(1, steps.size // max(1, len(history["epoch_loss"])))
        ax.plot(
            np.arange(1, len(history["epoch_loss"]) + 1) * per,
            history["epoch_loss"],
            "o-",
            label="epoch mean",
        )
    kind = "supervised" if cfg.supervised else ("3-frame" if cfg.multi_frame else "2-frame")
    ax.set(xlabel="batch", ylabel="loss", title=f"UDT training ({kind}, cost-sensitive={cfg.cost_sensitive})")
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
