"""The talk's "Shrinkage Loss" picture (DSLT, Lu et al. ECCV 2018, Fig. 3): how much each
regression loss lets a sample count, as a function of its absolute difference ``l`` from the
label — the modulating factor ``m(l)`` of ``loss = m(l) l^2`` — and the losses themselves.

The curves are :func:`regtrack.core.losses.modulating_factor` and the loss functions the trackers
train with, evaluated on a grid of ``l``: the picture cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from regtrack.core.losses import modulating_factor
from regtrack.viz.figure import save_figure

CURVES = (("l2", "L2: m = 1", {}), ("l3", "L3 (focal, $\\gamma$ = 1): m = l", {}),
          ("shrinkage", "shrinkage (a = 10, c = 0.2)", {"a": 10.0, "c": 0.2}))


def render_loss_modulation(out: str | Path, *, extra_shrinkage: Sequence[tuple[float, float]] = ((5.0, 0.2),
                                                                                                 (10.0, 0.4))
                           ) -> Path:
    """Write the picture to ``out`` (PNG, atomically): left, ``m(l)`` for L2, L3 and shrinkage
    (plus shrinkage at the other ``(a, c)`` in ``extra_shrinkage``, dashed); right, the loss
    ``m(l) l^2``. Easy samples (small ``l``) are the background pixels of a Gaussian label map."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    l = torch.linspace(0.0, 1.0, 401, dtype=torch.float64)
    fig, (ax_m, ax_l) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for name, label, kw in CURVES:
        m = modulating_factor(name, l, **kw).numpy()
        ax_m.plot(l, m, label=label, linewidth=2)
        ax_l.plot(l, m * l.numpy() ** 2, label=label, linewidth=2)
    for a, c in extra_shrinkage:
        m = modulating_factor("shrinkage", l, a=a, c=c).numpy()
        ax_m.plot(l, m, "--", linewidth=1.2, label=f"shrinkage (a = {a:g}, c = {c:g})")
        ax_l.plot(l, m * l.numpy() ** 2, "--", linewidth=1.2, label=f"shrinkage (a = {a:g}, c = {c:g})")
    ax_m.axvspan(0, 0.2, color="0.9", zorder=0)
    ax_m.text(0.1, 0.85, "easy samples", ha="center", fontsize=9, color="0.35")
    ax_m.set(xlabel="absolute difference l = |prediction - label|", ylabel="modulating factor m(l)",
             title="how much a sample counts", xlim=(0, 1), ylim=(0, 1.05))
    ax_l.set(xlabel="absolute difference l", ylabel="loss m(l) l$^2$", title="the loss", xlim=(0, 1),
             ylim=(0, 1.05))
    ax_m.legend(fontsize=8, loc="lower right")
    ax_l.legend(fontsize=8, loc="upper left")
    for ax in (ax_m, ax_l):
        ax.grid(alpha=0.3)
    fig.suptitle("Shrinkage loss shrinks only the easy samples; L3 also shrinks the hard ones below l = 1",
                 fontsize=11)
    return save_figure(fig, out)


def modulation_table(points: Sequence[float] = (0.05, 0.1, 0.2, 0.5, 0.9)) -> list[tuple[float, ...]]:
    """``(l, m_L2, m_L3, m_shrinkage)`` rows for the command's printout."""
    l = torch.tensor(list(points), dtype=torch.float64)
    cols = [modulating_factor(name, l, **kw).numpy() for name, _, kw in CURVES]
    return [tuple(float(v) for v in row) for row in np.column_stack([l.numpy(), *cols])]
