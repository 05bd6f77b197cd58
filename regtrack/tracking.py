"""The one frame loop that ``regtrack track`` and ``regtrack serve`` share: source -> trackers ->
boxes -> overlay.

Frames are ``H x W x 3`` uint8 RGB; boxes are OTB ``[x, y, w, h]`` (1-based, :mod:`regtrack.core.box`).
Every tracker starts from the same first-frame box on the same frames. Times cover ``init`` and
``update`` only, so what a caller does with each frame (drawing it, writing a video, serving it to
a web page) never counts against the tracker; the running fps counts the updates, not the one-off
``init``, which also pays for loading compiled code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from regtrack.core.box import check_tracked_box
from regtrack.errors import RegtrackError


@dataclass
class TrackedFrame:
    """One frame after every tracker has seen it."""

    index: int  # 0-based
    frame: np.ndarray
    boxes: dict[str, np.ndarray]  # tracker name -> OTB box in this frame
    fps: dict[str, float]  # tracker name -> running fps over the updates so far (0 on the first frame)


def track_many(trackers: Mapping[str, Any], frames: Iterable[np.ndarray], box: np.ndarray,
               on_frame: Callable[[TrackedFrame], None] | None = None, max_frames: int | None = None,
               stop: Callable[[], bool] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run each of ``trackers`` (name -> tracker) from OTB ``box`` on the first of ``frames``.

    ``on_frame`` is called after each frame (e.g. to draw or show it); ``stop()`` is asked before
    each frame and ends the loop when true (a camera, a stop button). Returns ``name -> (boxes
    N x 4, seconds per frame N)``."""
    boxes: dict[str, list[np.ndarray]] = {name: [] for name in trackers}
    times: dict[str, list[float]] = {name: [] for name in trackers}
    start = np.asarray(box, dtype=np.float64)
    for i, frame in enumerate(frames):
        if (max_frames is not None and i >= max_frames) or (stop is not None and stop()):
            break
        for name, tracker in trackers.items():
            t0 = time.perf_counter()
            try:
                if i == 0:
                    tracker.init(frame, start)
                    out = start.copy()
                else:
                    out = np.asarray(tracker.update(frame), dtype=np.float64)
            except RegtrackError:
                raise
            except Exception as err:  # noqa: BLE001 - one line naming the frame, not a traceback
                raise RegtrackError(f"{getattr(tracker, 'name', name)} failed on frame {i + 1}: "
                                    f"{type(err).__name__}: {err}",
                                    fix="try other --param values; the boxes so far are kept") from err
            times[name].append(time.perf_counter() - t0)
            check_tracked_box(out, i, getattr(tracker, "name", name))  # never a NaN box written
            boxes[name].append(out)
        if on_frame is not None:
            on_frame(TrackedFrame(i, frame, {n: b[-1] for n, b in boxes.items()},
                                  {n: running_fps(t) for n, t in times.items()}))
    return {n: (np.array(boxes[n]).reshape(-1, 4), np.array(times[n])) for n in trackers}


def running_fps(times: list[float] | np.ndarray) -> float:
    """Frames per second over the updates (every time after the first, which is ``init``)."""
    return (len(times) - 1) / max(float(np.sum(times[1:])), 1e-9) if len(times) > 1 else 0.0


def track_frames(tracker: Any, frames: Iterable[np.ndarray], box: np.ndarray,
                 on_frame: Callable[[int, np.ndarray, np.ndarray, float], None] | None = None,
                 max_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One tracker through :func:`track_many`; returns ``(boxes N x 4, seconds per frame)``.
    ``on_frame(index, frame, box, running_fps)`` (index 0-based) is called after each frame."""
    def each(t: TrackedFrame) -> None:
        if on_frame is not None:
            on_frame(t.index, t.frame, t.boxes["tracker"], t.fps["tracker"])

    return track_many({"tracker": tracker}, frames, box, each, max_frames)["tracker"]


def overlay(frame: np.ndarray, index: int, boxes: Mapping[str, np.ndarray], gt: np.ndarray | None = None,
            fps: Mapping[str, float] | None = None) -> np.ndarray:
    """Frame ``index`` (0-based) drawn as ``regtrack track --out`` and the web page show it: each
    tracker's box in its colour (:data:`regtrack.viz.overlay.PALETTE`, in the order given), the
    ground-truth row ``gt[index]`` after them when there is one, the frame number and each tracker's
    running fps."""
    from regtrack.viz.overlay import annotate

    shown = dict(boxes)
    if gt is not None and index < len(gt):
        shown["ground truth"] = gt[index]
    extra = "  ".join(f"{n} {f:.0f} fps" for n, f in (fps or {}).items()) or None
    return annotate(frame, shown, frame_number=index + 1, extra=extra)
