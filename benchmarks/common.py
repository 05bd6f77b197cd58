"""What the benchmark scripts share: where ``../shared`` is, and the ``--run`` spec parser."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("REGTRACK_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def parse_run(spec: str) -> tuple[str, str, dict]:
    """``NAME[:KEY=VALUE,...][@LABEL]`` -> ``(tracker name, label, typed overrides)``.
    Tuple values use ``;`` inside a spec (``layer_weights=0.02;0.5;1``)."""
    from regtrack.trackers.base import parse_overrides

    label = None
    if "@" in spec:
        spec, label = spec.split("@", 1)
    name, _, rest = spec.partition(":")
    pairs = [p.replace(";", ",") for p in rest.split(",") if p] if rest else []
    label = label or spec.replace(":", "_").replace(",", "_").replace("=", "-")
    return name, label, parse_overrides(name, pairs)
