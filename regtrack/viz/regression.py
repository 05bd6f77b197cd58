"""The talk's pictures of deep regression training (DSLT, Lu et al. ECCV 2018, Fig. 1 and Fig. 7):

* data imbalance: a search window, its Gaussian label map and the network's regression output,
  and the histogram of ``|output - label|`` over a whole run for each loss — almost every sample
  is an easy one (a small difference), and those dominate an L2 loss;
* convergence: the first-frame training loss against iterations for each loss, on a few
  sequences, with the iteration where each reached its stopping threshold.

Both take data the tracker already keeps (``DSLTTracker.difference_histogram``, ``last_*``,
``init_training``) and return the written PNG (atomically).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from regtrack.viz.figure import save_figure

LOSS_COLOURS = {"l2": "tab:blue", "l3": "tab:orange", "shrinkage": "tab:green"}


def render_imbalance(patch: np.ndarray, label: np.ndarray, output: np.ndarray,
                     histograms: Mapping[str, np.ndarray], bins: np.ndarray, out: str | Path, *,
                     title: str = "") -> Path:
    """Window, label, output (of one run), and per loss the share of samples per ``|output -
    label|`` bin (log scale), with the share under 0.2 — the easy samples — written beside."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 3.8))
    grid = fig.add_gridspec(1, 5)
    panels = (("search window", patch, None), ("label (Gaussian)", label, "jet"),
              ("regression output", output, "jet"))
    for i, (name, data, cmap) in enumerate(panels):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(data, cmap=cmap, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(grid[0, 3:])
    centres = (bins[:-1] + bins[1:]) / 2
    width = (bins[1] - bins[0]) / (len(histograms) + 0.5)
    for k, (name, counts) in enumerate(histograms.items()):
        share = counts / max(counts.sum(), 1)
        easy = share[centres < 0.2].sum()
        ax.bar(centres + (k - (len(histograms) - 1) / 2) * width, share, width=width,
               color=LOSS_COLOURS.get(name), label=f"{name}: {easy:.1%} of samples under 0.2")
    ax.set_yscale("log")
    ax.set(xlabel="|output - label| over the run", ylabel="share of samples", xlim=(0, 1))
    ax.axvline(0.2, color="0.5", linestyle=":")
    ax.legend(fontsize=8)
    ax.set_title("easy samples (small differences) dominate", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, out)


def iterations_to(losses: Sequence[float], threshold: float) -> int | None:
    """The first iteration (1-based) whose loss is under ``threshold``; ``None`` if none is."""
    hit = np.nonzero(np.asarray(losses) < threshold)[0]
    return int(hit[0]) + 1 if hit.size else None


def render_convergence(curves: Mapping[str, Mapping[str, Sequence[float]]], threshold: float, out: str | Path,
                       *, common: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                       common_threshold: float | None = None, title: str = "") -> Path:
    """Per sequence (one panel each): each loss's own training loss against iterations (solid),
    its stopping threshold (dotted) and, when ``common`` is given, one measure common to all losses
    for the same run (dashed, right axis; e.g. the relative plain L2 error) with its own threshold
    ``common_threshold`` (dash-dotted), so that the losses can be compared."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(curves)
    cols = min(n, 4)  # rows of at most 4 panels, so that many sequences stay readable
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(4.3 * cols, 8.0), 3.8 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, (seq, runs) in zip(axes.ravel()[:n], curves.items(), strict=True):
        right = ax.twinx() if common else None
        for loss, values in runs.items():
            hit = iterations_to(values, threshold)
            reached = f"{hit} it." if hit else f"not in {len(values)}"
            series = common.get(seq, {}).get(loss) if common else None
            if series is not None and common_threshold is not None:
                common_hit = iterations_to(series, common_threshold)
                reached += f"; L2 {common_hit} it." if common_hit else "; L2 -"
            ax.plot(np.arange(1, len(values) + 1), values, color=LOSS_COLOURS.get(loss),
                    label=f"{loss} ({reached})")
            if right is not None and series is not None:
                right.plot(np.arange(1, len(series) + 1), series, "--", color=LOSS_COLOURS.get(loss),
                           alpha=0.6)
        ax.axhline(threshold, color="0.4", linestyle=":", label=f"threshold {threshold:g}")
        if right is not None and common_threshold is not None:
            ax.plot([], [], color="0.6", linestyle="-.", label=f"L2 error {common_threshold:g} (right)")
        ax.set_yscale("log")
        ax.set(xlabel="iteration (first frame)", ylabel="training loss", title=seq)
        if right is not None:
            if common_threshold is not None:
                right.axhline(common_threshold, color="0.6", linestyle="-.", linewidth=0.8)
            right.set_yscale("log")
            right.set_ylabel("plain L2 error / label energy (dashed)", fontsize=8)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, out)
