"""The trivial baseline: the box never moves. It proves the runner and the metrics before any
real tracker exists, and it is the floor every tracker must clear."""

from __future__ import annotations

import numpy as np

from regtrack.core.box import check_init_box
from regtrack.trackers.base import Tracker, register_tracker


@register_tracker("static")
class StaticTracker(Tracker):
    """Returns the initial box in every frame."""

    name = "static"

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        self.box = check_init_box(box, image.shape).copy()

    def update(self, image: np.ndarray) -> np.ndarray:
        return self.box.copy()
