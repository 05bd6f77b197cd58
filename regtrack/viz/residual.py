"""The talk's residual picture (CREST, Song et al. ICCV 2017, Fig. 3 / the "Residual Layer"
slide): what the base layer (a correlation filter learnt as one convolution) answers on a search
window, what the residual branches add, and their sum, the network's output.

All maps are the head's outputs on the same search window, drawn over it (the window's centre is
the previous position, so a peak off the centre is the motion found); the base layer's output
and the full output share one colour scale, the residuals have their own, symmetric about 0 (a
residual corrects up and down).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from regtrack.viz.figure import save_figure

BRANCH_TITLES = {"base": "base layer (correlation filter)", "spatial": "spatial residual",
                 "temporal": "temporal residual (first frame)"}


def render_residual_figure(frame: np.ndarray, window: np.ndarray, branches: Mapping[str, np.ndarray],
                           out: str | Path, *, title: str = "",
                           tracker_box: Sequence[float] | None = None, gt_box: Sequence[float] | None = None
                           ) -> Path:
    """Write the picture to ``out`` (PNG, atomically) and return its path.

    ``frame``: the RGB frame; ``window``: the search window the network saw (RGB); ``branches``:
    ``base`` and optionally ``spatial`` / ``temporal``, each ``H x W`` on the window's cell grid;
    ``tracker_box`` / ``gt_box``: OTB ``x, y, w, h`` (1-based) drawn on the frame in yellow / red.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    total = sum(branches.values())
    residual_names = [k for k in ("spatial", "temporal") if k in branches]
    panels = ["frame", "window", "base"] + residual_names + ["output"]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.7))
    lo, hi = float(min(branches["base"].min(), total.min())), float(max(branches["base"].max(), total.max()))
    res_scale = max([float(np.abs(branches[k]).max()) for k in residual_names] + [1e-12])
    extent = (0, window.shape[1], window.shape[0], 0)  # maps stretched over the window
    for ax, name in zip(axes, panels, strict=True):
        if name == "frame":
            ax.imshow(frame)
            for box, colour, label in ((gt_box, "red", "ground truth"), (tracker_box, "yellow", "CREST")):
                if box is not None:
                    ax.add_patch(Rectangle((box[0] - 1, box[1] - 1), box[2], box[3], fill=False,
                                           edgecolor=colour, linewidth=1.5, label=label))
            if gt_box is not None or tracker_box is not None:
                ax.legend(loc="lower right", fontsize=7, framealpha=0.7)
            ax.set_title(f"input frame {frame.shape[1]}x{frame.shape[0]}", fontsize=9)
        elif name == "window":
            ax.imshow(window)
            ax.set_title(f"search window {window.shape[1]}x{window.shape[0]}", fontsize=9)
        else:
            data = total if name == "output" else branches[name]
            ax.imshow(window, alpha=0.35)
            if name in residual_names:
                im = ax.imshow(data, cmap="RdBu_r", vmin=-res_scale, vmax=res_scale, alpha=0.8, extent=extent)
            else:
                im = ax.imshow(data, cmap="jet", vmin=lo, vmax=hi, alpha=0.75, extent=extent)
            r, c = np.unravel_index(int(np.argmax(data)), data.shape)
            scale_y, scale_x = window.shape[0] / data.shape[0], window.shape[1] / data.shape[1]
            ax.plot([(c + 0.5) * scale_x], [(r + 0.5) * scale_y], "w+", markersize=10, mew=2)
            heading = "output = base + residuals" if name == "output" else BRANCH_TITLES[name]
            ax.set_title(f"{heading}\nrange {data.min():.2f} .. {data.max():.2f}", fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, out)
