"""OTB-style success and precision plots (matplotlib, Agg backend; no LaTeX).

As the official ``plotDrawSave.m`` draws them: one curve per tracker, the legend ranked by the score,
the score in the label (``HCF [0.562]``: AUC for success, precision at 20 px for precision), overall
and per attribute (the title carries the attribute's sequence count). Saved as PNG and SVG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from regtrack.datasets.base import Dataset  # noqa: E402
from regtrack.evaluation.metrics import ERROR_THRESHOLDS, OVERLAP_THRESHOLDS  # noqa: E402
from regtrack.evaluation.report import TrackerEvaluation, ranked  # noqa: E402
from regtrack.fileio import atomic_path  # noqa: E402

_STYLES = ["-", "--", "-.", ":"]


def _plot(evals: list[TrackerEvaluation], kind: str, title: str, path_stem: Path,
          attribute: str | None = None, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    key = "auc" if kind == "success" else "precision"
    order = ranked(evals, key, attribute)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    cmap = plt.get_cmap("tab10")
    colour = {e.name: j for j, e in enumerate(evals)}  # one colour per tracker in every plot
    for i, e in enumerate(order):
        s = e.overall if attribute is None else e.per_attribute[attribute]
        x = OVERLAP_THRESHOLDS if kind == "success" else ERROR_THRESHOLDS
        y = s.success_curve if kind == "success" else s.precision_curve
        if len(y) == 0:
            continue
        j = colour[e.name]
        ax.plot(x, y, _STYLES[(j // 10) % 4], color=cmap(j % 10), linewidth=2 if i < 3 else 1.4,
                label=f"{e.name} [{getattr(s, key):.3f}]")
    if kind == "success":
        ax.set(xlabel="Overlap threshold", ylabel="Success rate", xlim=(0, 1))
    else:
        ax.set(xlabel="Location error threshold (px)", ylabel="Precision", xlim=(0, 50))
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower left" if kind == "success" else "lower right", fontsize=8)
    fig.tight_layout()
    out = []
    for fmt in formats:
        p = path_stem.with_suffix(f".{fmt}")
        with atomic_path(p, keep_suffix=True) as tmp:  # a report stopped midway leaves no torn image
            fig.savefig(tmp, format=fmt)
        out.append(p)
    plt.close(fig)
    return out


def draw_plots(evals: list[TrackerEvaluation], dataset: Dataset, out_dir: str | Path,
               attributes: bool = True, formats: tuple[str, ...] = ("png", "svg"), eval_type: str = "OPE"
               ) -> list[Path]:
    """Success and precision plots, overall and (if the dataset has attributes) per attribute."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(dataset)
    files = []
    for kind in ("success", "precision"):
        label = "Success plots" if kind == "success" else "Precision plots"
        title = f"{label} of {eval_type} on {dataset.name} ({n})"
        files += _plot(evals, kind, title, out_dir / f"{kind}_overall", formats=formats)
        if attributes:
            counts = dataset.attribute_counts()
            for a in dataset.attributes:
                if counts.get(a, 0) == 0:
                    continue
                title = f"{label} of {eval_type} - {dataset.attribute_names.get(a, a)} ({counts[a]})"
                files += _plot(evals, kind, title, out_dir / f"{kind}_{a}", attribute=a, formats=formats)
    return files
