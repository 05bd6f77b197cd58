"""TADT's feature pictures (Li et al. CVPR 2019; the talk's "Visualization of the generated
features" and "Analyses of the generated features" slides).

* :func:`render_target_aware`: for a few frames, the search window and the conv4_1 / conv4_3
  maps summed over all channels and over the selected (target-aware) channels only. Pre-trained
  channels light up on every object of the window; the selected ones mostly on the target.
* :func:`render_tsne`: the t-SNE (scikit-learn) of the original and the target-aware features of
  the targets of several sequences, one colour a sequence: target-aware features of one target
  gather and targets separate (intra-class: different pedestrians; inter-class: different kinds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from regtrack.viz.figure import save_figure

LAYER_TITLES = {"conv4_1": "conv4_1", "conv4_3": "conv4_3"}


def channel_sum_map(maps: np.ndarray, channels: np.ndarray | None = None) -> np.ndarray:
    """The sum over ``channels`` (default all) of ``C x H x W`` maps, scaled to [0, 1] (TADT's
    ``visualize_feature``)."""
    data = maps if channels is None else maps[channels]
    heat = data.sum(axis=0)
    lo, hi = float(heat.min()), float(heat.max())
    return (heat - lo) / (hi - lo) if hi > lo else np.zeros_like(heat)


def render_target_aware(rows: Sequence[Mapping[str, object]], selection: Mapping[str, np.ndarray],
                        out: str | Path, *, title: str = "") -> Path:
    """Write the picture to ``out`` and return its path. Each row is one frame: ``index``
    (int), ``window`` (the RGB search window) and ``maps`` (layer -> ``C x H x W`` array of all
    channels); ``selection`` gives each layer's selected channel indices."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers = [layer for layer in ("conv4_1", "conv4_3") if layer in selection]
    columns = ["window"] + [f"{layer}|{kind}" for layer in layers for kind in ("all", "selected")]
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.6 * len(columns), 2.7 * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        window = np.asarray(row["window"])
        maps = row["maps"]
        extent = (0, window.shape[1], window.shape[0], 0)
        for c, column in enumerate(columns):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if column == "window":
                ax.imshow(window)
                ax.set_ylabel(f"frame {row['index']}", fontsize=10)
                if r == 0:
                    ax.set_title("search window", fontsize=10)
                continue
            layer, kind = column.split("|")
            data = np.asarray(maps[layer])  # type: ignore[index]
            channels = None if kind == "all" else np.asarray(selection[layer])
            ax.imshow(window, alpha=0.35)
            ax.imshow(channel_sum_map(data, channels), cmap="jet", alpha=0.7, extent=extent, vmin=0, vmax=1)
            if r == 0:
                n = data.shape[0] if channels is None else len(channels)
                ax.set_title(f"{LAYER_TITLES[layer]}, {'all' if kind == 'all' else 'target-aware'}\n"
                             f"({n} channels)", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out)


def tsne_embedding(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-D t-SNE (scikit-learn) of ``N x D`` features, each row scaled to unit length first (the
    features' magnitude varies with the frame's contrast; their direction is what differs)."""
    from sklearn.manifold import TSNE

    x = np.asarray(features, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)


def render_tsne(original: np.ndarray, target_aware: np.ndarray, labels: Sequence[str], out: str | Path, *,
                title: str = "", seed: int = 0) -> Path:
    """Write the two t-SNE panels (original features, target-aware features; ``N x D`` each,
    one row per sample, ``labels[i]`` its sequence) to ``out`` and return its path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(labels))
    colours = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, data, heading in ((axes[0], original, "original features (all channels)"),
                              (axes[1], target_aware, "target-aware features (selected channels)")):
        points = tsne_embedding(data, seed)
        for k, name in enumerate(names):
            mask = np.array([lb == name for lb in labels])
            ax.scatter(points[mask, 0], points[mask, 1], s=22, color=colours(k % colours.N), label=name,
                       edgecolors="none", alpha=0.85)
        ax.set_title(heading, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out)
