"""OpenCV's own trackers behind regtrack's interface, as references for benchmarks:
``opencv_kcf`` (``cv2.TrackerKCF``: KCF in C++ with OpenCV's defaults — grey + colour-names
features compressed by PCA, not fHOG) and ``opencv_csrt`` (``cv2.TrackerCSRT``, CSR-DCF).
Both come with ``opencv-contrib-python``.

OpenCV takes BGR frames and 0-based integer ``(x, y, w, h)`` rectangles; the boxes here are OTB
``[x, y, w, h]`` (1-based). When OpenCV reports a failure, the last box is kept.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from regtrack.errors import RegtrackError
from regtrack.trackers.base import Tracker, register_tracker


@dataclasses.dataclass
class OpenCVParams:
    """No tunables: OpenCV's defaults are the reference."""


class _OpenCVTracker(Tracker):
    Params = OpenCVParams
    factory_names: tuple[str, ...] = ()

    def _create(self) -> cv2.Tracker:
        for name in self.factory_names:
            for ns in (cv2, getattr(cv2, "legacy", None)):
                fn = getattr(ns, name, None) if ns is not None else None
                if fn is not None:
                    return fn()
        raise RegtrackError(f"this OpenCV ({cv2.__version__}) has no {self.factory_names[0]}",
                            fix="install opencv-contrib-python(-headless)")

    def init(self, image: np.ndarray, box: np.ndarray) -> None:
        image, box = self._first_frame(image, box)
        self.box = box.copy()
        H, W = self.frame_shape
        # OpenCV wants the rectangle inside the image
        x0, y0 = max(0.0, box[0] - 1), max(0.0, box[1] - 1)
        x1, y1 = min(float(W), box[0] - 1 + box[2]), min(float(H), box[1] - 1 + box[3])
        rect = (int(round(x0)), int(round(y0)), max(1, int(round(x1 - x0))), max(1, int(round(y1 - y0))))
        self.tracker = self._create()
        try:
            self.tracker.init(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), rect)
        except cv2.error as err:
            detail = str(err).strip().splitlines()[-1] if str(err).strip() else "cv2.error"
            raise RegtrackError(f"OpenCV could not start on box {rect}: {detail}") from None

    def update(self, image: np.ndarray) -> np.ndarray:
        image = self._next_frame(image)
        try:
            ok, rect = self.tracker.update(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        except cv2.error:
            ok, rect = False, None
        if ok and rect is not None and rect[2] > 0 and rect[3] > 0:
            self.box = np.array([rect[0] + 1.0, rect[1] + 1.0, float(rect[2]), float(rect[3])])
        return self.box.copy()


@register_tracker("opencv_kcf")
class OpenCVKCF(_OpenCVTracker):
    """``cv2.TrackerKCF`` with OpenCV's default parameters."""

    name = "opencv_kcf"
    factory_names = ("TrackerKCF_create",)


@register_tracker("opencv_csrt")
class OpenCVCSRT(_OpenCVTracker):
    """``cv2.TrackerCSRT`` with OpenCV's default parameters."""

    name = "opencv_csrt"
    factory_names = ("TrackerCSRT_create",)
