"""The talk's feature pictures (HCF, Ma et al. ICCV 2015, Fig. 1-2): an input patch, the feature
maps of three layers from shallow to deep, and the correlation response of each layer and of
the fused map.

Each layer's ``C x h x w`` map is shown at its own resolution as the first three principal
components mapped to RGB (so the shallow layer looks sharp and local and the deep one coarse),
next to its single most energetic channel; responses are centred (zero displacement in the
middle) and drawn on a common colour scale per map.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from regtrack.viz.figure import save_figure


def pca_rgb(fmap: np.ndarray) -> np.ndarray:
    """``C x h x w`` features -> ``h x w x 3`` image in [0, 1]: the projection on the first three
    principal components over the pixels, each stretched to its 1-99 % range."""
    c, h, w = fmap.shape
    x = fmap.reshape(c, -1).T.astype(np.float64)
    x = x - x.mean(0)
    k = min(3, c, x.shape[0])
    try:
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        proj = x @ vt[:k].T
    except np.linalg.LinAlgError:  # pragma: no cover - degenerate map
        proj = x[:, :k]
    out = np.zeros((h * w, 3))
    for i in range(k):
        lo, hi = np.percentile(proj[:, i], [1, 99])
        out[:, i] = np.clip((proj[:, i] - lo) / (hi - lo + 1e-12), 0, 1)
    if k < 3:
        out[:, k:] = out[:, :1]
    return out.reshape(h, w, 3)


def strongest_channel(fmap: np.ndarray) -> tuple[int, np.ndarray]:
    """The channel with the largest energy and its map."""
    energy = (fmap.astype(np.float64) ** 2).sum((1, 2))
    i = int(np.argmax(energy))
    return i, fmap[i]


def render_feature_figure(patch: np.ndarray, features: dict[str, np.ndarray], layer_names: Sequence[str],
                          strides: Sequence[int], responses: Sequence[np.ndarray], fused: np.ndarray,
                          out: str | Path, title: str = "", box_in_patch: Sequence[float] | None = None,
                          fusion_label: str = "fused") -> Path:
    """Write the picture to ``out`` (PNG) and return its path.

    ``patch``: the network input (RGB uint8); ``features``: name -> ``C x h x w`` at native
    resolution; ``responses``: centred per-layer responses (shallow -> deep); ``fused``: the
    centred fused map; ``box_in_patch``: ``x0, y0, w, h`` of the target in patch pixels."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = len(layer_names)
    fig, axes = plt.subplots(3, n + 1, figsize=(3.1 * (n + 1), 9.4))
    ax = axes[0, 0]
    ax.imshow(patch)
    if box_in_patch is not None:
        x0, y0, bw, bh = box_in_patch
        ax.add_patch(Rectangle((x0, y0), bw, bh, fill=False, edgecolor="yellow", linewidth=1.5))
    ax.set_title(f"input patch {patch.shape[1]}x{patch.shape[0]}", fontsize=9)
    axes[1, 0].axis("off")
    axes[1, 0].text(0.02, 0.5, "row 1: first 3 principal\ncomponents of each layer\n\n"
                    "row 2: its most energetic\nchannel\n\nrow 3: correlation responses\n"
                    "(centre = no motion)", fontsize=9, va="center")
    for j, (name, stride) in enumerate(zip(layer_names, strides, strict=True), start=1):
        fmap = features[name]
        axes[0, j].imshow(pca_rgb(fmap), interpolation="nearest")
        axes[0, j].set_title(f"{name}: {fmap.shape[0]} ch, {fmap.shape[2]}x{fmap.shape[1]} (stride {stride})",
                             fontsize=9)
        ch, cmap = strongest_channel(fmap)
        axes[1, j].imshow(cmap, cmap="viridis", interpolation="nearest")
        axes[1, j].set_title(f"{name} channel {ch}", fontsize=9)
        axes[2, j].imshow(responses[j - 1], cmap="jet", interpolation="nearest")
        axes[2, j].set_title(f"response {name}", fontsize=9)
    axes[2, 0].imshow(fused, cmap="jet", interpolation="nearest")
    r, c = np.unravel_index(int(np.argmax(fused)), fused.shape)
    axes[2, 0].plot([c], [r], "w+", markersize=10)
    axes[2, 0].set_title(f"{fusion_label} response", fontsize=9)
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, out)
