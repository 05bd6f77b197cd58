"""Drawing tracking results on frames and writing them to a video.

Frames are ``H x W x 3`` uint8 **RGB** (regtrack's convention everywhere); boxes are OTB
``[x, y, w, h]`` (1-based, :mod:`regtrack.core.box`). Every function returns a new frame and
leaves its input untouched. :class:`VideoWriter` converts to BGR for OpenCV once, at the end.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from regtrack.errors import RegtrackError

# tab10-like RGB colours: tracker 0 green, ground truth red, then the rest
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 230, 0), (230, 30, 30), (30, 120, 255), (255, 200, 0), (200, 0, 200),
    (0, 200, 200), (255, 128, 0), (128, 128, 255), (160, 100, 40), (255, 255, 255))


def _thickness(frame: np.ndarray) -> int:
    return max(1, round(min(frame.shape[:2]) / 240))


def draw_box(frame: np.ndarray, box: Sequence[float] | np.ndarray, color: tuple[int, int, int] = PALETTE[0],
             thickness: int | None = None, label: str | None = None, label_below: bool = False,
             dashed: bool = False) -> np.ndarray:
    """``frame`` with the OTB ``box`` outlined (pixels ``x .. x+w-1``) and an optional label above
    it (or below it). A box with a non-finite value is skipped (OTB's "target absent" rows).
    ``dashed``: dashes over a dark outline, readable on any background (the ground truth beside
    several trackers' solid boxes)."""
    out = np.ascontiguousarray(frame).copy()
    b = np.asarray(box, dtype=np.float64).reshape(-1)
    if b.size != 4 or not np.all(np.isfinite(b)) or b[2] <= 0 or b[3] <= 0:
        return out
    t = thickness or _thickness(out)
    x0, y0 = int(round(b[0] - 1)), int(round(b[1] - 1))
    x1, y1 = int(round(b[0] - 1 + b[2] - 1)), int(round(b[1] - 1 + b[3] - 1))
    if dashed:
        _dashed_rectangle(out, (x0, y0), (x1, y1), tuple(int(c) for c in color), t)
    else:
        cv2.rectangle(out, (x0, y0), (x1, y1), tuple(int(c) for c in color), t, cv2.LINE_AA)
    if label:
        scale = max(0.35, min(out.shape[:2]) / 900)
        (_, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        y = min(out.shape[0] - 2, y1 + th + 4) if label_below else max(th + 1, y0 - 4)
        cv2.putText(out, label, (x0, y), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    tuple(int(c) for c in color), max(1, t // 2), cv2.LINE_AA)
    return out


def _dashed_rectangle(out: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], color: tuple[int, int, int],
                      t: int) -> None:
    """Draw a dashed rectangle in place: a thin dark outline first, then the dashes on it."""
    cv2.rectangle(out, p0, p1, (0, 0, 0), t + 2, cv2.LINE_AA)
    dash = 4 * t + 2
    (x0, y0), (x1, y1) = p0, p1
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        for s in range(0, length + 1, 2 * dash):  # dash, gap, dash...
            e = min(s + dash, length)
            f0, f1 = s / max(length, 1), e / max(length, 1)
            q0 = (round(a[0] + (b[0] - a[0]) * f0), round(a[1] + (b[1] - a[1]) * f0))
            q1 = (round(a[0] + (b[0] - a[0]) * f1), round(a[1] + (b[1] - a[1]) * f1))
            cv2.line(out, q0, q1, color, t, cv2.LINE_AA)


def draw_text(frame: np.ndarray, text: str, origin: tuple[int, int] = (6, 6),
              color: tuple[int, int, int] = (255, 255, 0)) -> np.ndarray:
    """``frame`` with ``text`` at the top-left ``origin`` on a dark backing box, readable on any image."""
    out = np.ascontiguousarray(frame).copy()
    scale = max(0.4, min(out.shape[:2]) / 600)
    thick = max(1, round(scale * 1.5))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = origin
    cv2.rectangle(out, (x, y), (x + tw + 6, y + th + base + 6), (0, 0, 0), -1)
    cv2.putText(out, text, (x + 3, y + th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)
    return out


def annotate(frame: np.ndarray, boxes: dict[str, Sequence[float] | np.ndarray] | Sequence[float] | np.ndarray,
             frame_number: int | None = None, extra: str | None = None,
             colours: Mapping[str, tuple[int, int, int]] | None = None, labels: bool = True,
             dashed: Collection[str] = ()) -> np.ndarray:
    """One annotated frame: each box in its colour (a dict ``name -> box`` gets labels; the first
    is drawn on top), and ``#frame_number`` (1-based, as OTB counts) plus ``extra`` text at the
    top-left.

    ``colours`` (name -> RGB) replaces the :data:`PALETTE` order for the names it holds; ``labels``
    False leaves the names off the boxes (a legend says them instead); the names in ``dashed`` are
    drawn dashed."""
    out = np.ascontiguousarray(frame)
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
    items = list(boxes.items()) if isinstance(boxes, dict) else [(None, boxes)]
    named = isinstance(boxes, dict) and len(boxes) > 1 and labels
    for i, (name, box) in reversed(list(enumerate(items))):  # the first box is drawn last, on top
        color = (colours or {}).get(name, PALETTE[i % len(PALETTE)])
        out = draw_box(out, box, color, label=name if named else None, label_below=i > 0,
                       dashed=name in dashed)
    parts = []
    if frame_number is not None:
        parts.append(f"#{frame_number}")
    if extra:
        parts.append(extra)
    if parts:
        out = draw_text(out, "  ".join(parts))
    return out if out is not frame else out.copy()


VIDEO_CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v"}
"""Output suffix -> the FourCC every OpenCV wheel can encode."""


def check_video_path(path: str | Path) -> Path:
    """Raise a one-line :class:`RegtrackError` if ``path``'s suffix is not a video this writes."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_CODECS:
        raise RegtrackError(f"cannot write a {path.suffix or 'suffix-less'} video", path=path,
                            fix="name the output .mp4 or .avi")
    return path


class VideoWriter:
    """Write RGB frames to a video file (``.mp4``: MPEG-4 Part 2 ``mp4v``; ``.avi``: MJPG), the
    codecs every OpenCV wheel can encode. The size is fixed by the first frame; later frames of
    another size are resized. Use as a context manager, or call :meth:`close`.

    Frames go to a temporary file beside ``path``; :meth:`close` moves it over ``path`` only when
    the video is complete, so a run that fails part-way never replaces an existing video with a
    partial one: its frames are kept in :func:`regtrack.fileio.partial_path` instead."""

    def __init__(self, path: str | Path, fps: float = 30.0) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0
        self._writer: cv2.VideoWriter | None = None
        self._tmp: Path | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def _open(self, frame: np.ndarray) -> None:
        from regtrack.fileio import temp_beside

        fourcc = VIDEO_CODECS[check_video_path(self.path).suffix.lower()]
        h, w = frame.shape[:2]
        self.size = (w, h)
        self._tmp = temp_beside(self.path, keep_suffix=True)
        self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*fourcc), self.fps, (w, h))
        if not self._writer.isOpened():
            self._tmp.unlink(missing_ok=True)
            raise RegtrackError("OpenCV cannot open this video for writing", path=self.path,
                                fix="check the folder is writable, or use .avi")

    def write(self, frame: np.ndarray) -> None:
        """Append one ``H x W x 3`` uint8 RGB frame."""
        if self._writer is None:
            self._open(frame)
        assert self._writer is not None and self.size is not None
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame[..., :3]), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self, complete: bool = True) -> Path | None:
        """Finish the file. ``complete``: it replaces ``path``; otherwise (a run that failed) the
        frames written so far go to ``partial_path(path)``, and ``path`` is left as it was.
        Returns the file written, or None when no frame was."""
        from regtrack.fileio import commit, partial_path

        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        assert self._tmp is not None
        target = self.path if complete else partial_path(self.path)
        try:
            commit(self._tmp, target)
        finally:
            self._tmp.unlink(missing_ok=True)
        return target

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(complete=exc_type is None)


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> int:
    """Write RGB ``frames`` to ``path``; returns the number written."""
    with VideoWriter(path, fps) as writer:
        for f in frames:
            writer.write(f)
        return writer.frames
