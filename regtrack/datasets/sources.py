"""Frame sources for tracking: a video file, a folder of images, or a camera.

``open_source(source)`` returns a :class:`FrameSource`, an iterable of ``H x W x 3`` uint8
**RGB** frames (grey and RGBA images are converted to RGB). ``len(src)`` works when the number
of frames is known (image folders, most video files); ``src.num_frames`` is ``None`` for a camera.
``read_image(path)`` reads one frame the same way, with a one-line :class:`RegtrackError` naming
the file when it is missing or unreadable (the dataset loaders use it too).

OpenCV decodes images and video (``cv2.imread`` / ``cv2.VideoCapture``); frames come out of
OpenCV in BGR order and are converted once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from regtrack.errors import RegtrackError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
DEFAULT_FPS = 30.0


def _to_rgb(image: np.ndarray) -> np.ndarray:
    """OpenCV BGR / BGRA / grey (any depth) -> ``H x W x 3`` uint8 RGB."""
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        else:
            image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image(path: str | Path) -> np.ndarray:
    """Read one frame as an ``H x W x 3`` uint8 RGB array (grey / RGBA converted).

    Raises :class:`RegtrackError` naming ``path`` when the file is missing or cannot be decoded.
    """
    p = Path(path)
    if not p.is_file():
        raise RegtrackError("image not found", path=p,
                            fix="check the dataset root and that every frame listed is on disk")
    # IMREAD_UNCHANGED keeps grey/alpha visible so they are converted explicitly; np.fromfile +
    # imdecode also copes with non-ASCII paths, which cv2.imread does not on every platform.
    data = np.fromfile(str(p), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise RegtrackError("cannot decode this image (empty or corrupt file)", path=p,
                            fix="re-download or replace the frame")
    return _to_rgb(image)


def _natural_key(name: str) -> list[object]:
    """Sort ``2.jpg`` before ``10.jpg`` (zero-padded OTB names sort the same either way)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, in natural order (no error when there are none)."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
             and not p.name.startswith(".")]
    return sorted(files, key=lambda p: _natural_key(p.name))


def check_frame_names(files: list[Path]) -> list[Path]:
    """Refuse an image list whose names show that frames are missing or doubled, since row ``i``
    of the boxes is labelled as frame ``i``: the same frame number twice (``0001.jpg`` and
    ``0001.png``), or a gap in the numbering (``0004.jpg``, ``0006.jpg``). Names without a frame
    number, or with another prefix each, are left as they are."""
    numbered = [re.fullmatch(r"(.*?)(\d+)", p.stem) for p in files]
    if not files or not all(numbered) or len({m.group(1) for m in numbered if m}) != 1:
        return files
    numbers = [int(m.group(2)) for m in numbered if m]
    for prev, cur, a, b in zip(numbers, numbers[1:], files, files[1:], strict=False):
        if cur == prev:
            raise RegtrackError(f"frame {cur} is there twice ({a.name} and {b.name})", path=b.parent,
                                fix="keep one file per frame (one format)")
        if cur > prev + 1:
            gap = f"frame {prev + 1} is" if cur == prev + 2 else f"frames {prev + 1}..{cur - 1} are"
            raise RegtrackError(f"{gap} missing between {a.name} and {b.name}",
                                path=b.parent, fix="restore them (every box row is one frame), or track a "
                                "folder whose frames are all present")
    return files


class FrameSource:
    """An iterable of RGB frames with ``name``, ``fps`` and ``num_frames`` (None if unknown)."""

    name: str
    fps: float
    num_frames: int | None

    def __iter__(self) -> Iterator[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self) -> int:
        if self.num_frames is None:
            raise TypeError(f"{self.name}: the number of frames of a live source is unknown")
        return self.num_frames

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, frames={self.num_frames}, fps={self.fps:g})"


class ImageFolderSource(FrameSource):
    """The sorted image files of a folder (an OTB sequence folder's ``img/`` is used if present)."""

    def __init__(self, folder: str | Path, fps: float = DEFAULT_FPS) -> None:
        folder = Path(folder)
        files = list_images(folder)
        if not files and (folder / "img").is_dir():
            files = list_images(folder / "img")
        if not files:
            raise RegtrackError("no image files in this folder", path=folder,
                                fix="give a folder of jpg/png frames (or an OTB sequence folder with img/), "
                                "a video file or a camera index")
        self.paths = check_frame_names(files)
        self.folder = folder
        self.name = folder.name if folder.name != "img" else folder.parent.name
        self.fps = float(fps)
        self.num_frames = len(files)

    def __iter__(self) -> Iterator[np.ndarray]:
        for p in self.paths:
            yield read_image(p)


class VideoSource(FrameSource):
    """A video file (anything OpenCV's FFmpeg backend decodes) or a camera index."""

    def __init__(self, source: str | Path | int) -> None:
        self.is_camera = isinstance(source, int)
        self.source = source
        cap = self._open()
        try:
            fps = cap.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
            if self.is_camera:
                self.name = f"camera{source}"
                self.num_frames = None
            else:
                ok, _ = cap.read()
                if not ok:
                    raise RegtrackError("the video has no readable frame", path=source,
                                        fix="check it plays; convert: ffmpeg -i IN OUT.mp4")
                count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
                self.name = Path(source).stem
                self.num_frames = count if count > 0 else None
        finally:
            cap.release()

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(self.source if self.is_camera else str(self.source))
        if not cap.isOpened():
            cap.release()
            if self.is_camera:
                raise RegtrackError(f"cannot open camera {self.source}",
                                    fix="check the camera is connected and not used by another program, "
                                    "or give a video file / image folder")
            raise RegtrackError("cannot open this video file (unknown or corrupt format)", path=self.source,
                                fix="give a video OpenCV can decode (mp4, avi, mkv...) or a folder of images")
        return cap

    def __iter__(self) -> Iterator[np.ndarray]:
        cap = self._open()
        read = 0
        try:
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                read += 1
                yield _to_rgb(frame)
        finally:
            cap.release()
        # The container states its frame count; a file cut off mid-stream ends early. Containers
        # without an index estimate the count from the duration, so one frame short is allowed.
        if self.num_frames and read < self.num_frames - max(1, self.num_frames // 100):
            raise RegtrackError(f"the video ends after {read} of its {self.num_frames} frames (cut off or "
                                "corrupt)", path=self.source,
                                fix="re-download or re-encode it (ffmpeg -i IN OUT.mp4); the frames read "
                                "were tracked")


def open_source(source: str | Path | int) -> FrameSource:
    """Open a video file, an image folder, or a camera (an int, or a string of digits).

    Raises :class:`RegtrackError` naming the path and the fix when it is missing, unreadable or
    an empty folder.
    """
    if isinstance(source, bool):
        raise RegtrackError(f"invalid frame source {source!r}",
                            fix="give a video file, a folder or a camera index")
    if isinstance(source, int):
        return VideoSource(source)
    text = str(source)
    if text.strip().isdigit() and not Path(text).exists():
        return VideoSource(int(text.strip()))
    path = Path(text).expanduser()
    if path.is_dir():
        return ImageFolderSource(path)
    if not path.exists():
        raise RegtrackError("no such file or folder", path=path,
                            fix="give a video file, a folder of images, or a camera index such as 0")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        raise RegtrackError("this is a single image, not a sequence", path=path,
                            fix=f"give the folder that holds the frames ({path.parent})")
    return VideoSource(path)
