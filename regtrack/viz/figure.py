"""Saving a matplotlib figure the one way every picture of regtrack does it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regtrack.fileio import atomic_path


def save_figure(fig: Any, out: str | Path, dpi: int = 90) -> Path:
    """Lay ``fig`` out, write it to ``out`` atomically in the format its suffix names (PNG, JPEG,
    PDF or SVG; PNG without a suffix), close it and return the path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, keep_suffix=True) as tmp:
        fig.savefig(tmp, dpi=dpi, format=out.suffix.lstrip(".").lower() or "png")
    plt.close(fig)
    return out
