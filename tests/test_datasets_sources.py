"""Frame sources: image folders (OTB img/ accepted), video files, camera index parsing, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from regtrack.datasets.sources import ImageFolderSource, VideoSource, open_source, read_image
from regtrack.errors import RegtrackError


def test_grey_jpeg_is_rgb(shared):
    img = read_image(shared / "data/otb/Freeman1/img/0001.jpg")  # a grayscale JPEG
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert np.array_equal(img[..., 0], img[..., 1])


def test_rgba_and_bgr_order(tmp_path):
    bgra = np.zeros((4, 5, 4), np.uint8)
    bgra[..., 2] = 200  # red in OpenCV's BGR(A) order
    bgra[..., 3] = 255
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    img = read_image(tmp_path / "a.png")
    assert img.shape == (4, 5, 3) and img[0, 0, 0] == 200 and img[0, 0, 2] == 0


def test_missing_and_corrupt_image(tmp_path):
    with pytest.raises(RegtrackError, match="0001.jpg: image not found"):
        read_image(tmp_path / "0001.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(RegtrackError, match="bad.jpg: cannot decode"):
        read_image(tmp_path / "bad.jpg")


def test_image_folder_otb_layout(shared):
    src = open_source(shared / "data/otb/Football1")  # OTB folder: img/ is used
    assert isinstance(src, ImageFolderSource) and src.name == "Football1"
    assert len(src) == 81 and src.fps == 30
    frame = next(iter(src))
    assert frame.ndim == 3 and frame.shape[2] == 3


def test_natural_order(tmp_path):
    for i in (10, 2, 1, 3, 4, 5, 6, 7, 8, 9):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((3, 3), i, np.uint8))
    src = open_source(str(tmp_path))
    assert [int(f[0, 0, 0]) for f in src] == list(range(1, 11))  # 10 after 9, not after 1


def test_video_file(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12, (32, 24))
    for i in range(5):
        writer.write(np.full((24, 32, 3), (0, 0, 40 * i), np.uint8))
    writer.release()
    src = open_source(str(path))
    assert isinstance(src, VideoSource) and src.name == "clip" and src.fps == pytest.approx(12)
    frames = list(src)
    assert len(frames) == 5 == len(src) and frames[0].shape == (24, 32, 3)
    assert frames[4][..., 0].mean() > 100 > frames[4][..., 2].mean()  # red stays in channel 0


def test_errors(tmp_path):
    with pytest.raises(RegtrackError, match="no image files"):
        open_source(tmp_path)
    with pytest.raises(RegtrackError, match="no such file"):
        open_source(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 100)
    with pytest.raises(RegtrackError, match="junk.mp4"):
        open_source(tmp_path / "junk.mp4")
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((3, 3), np.uint8))
    with pytest.raises(RegtrackError, match="single image"):
        open_source(tmp_path / "one.png")


def test_camera_index_is_recognised(monkeypatch):
    opened = []

    class FakeCap:
        def __init__(self, src):
            opened.append(src)

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return False

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", FakeCap)
    with pytest.raises(RegtrackError, match="cannot open camera 3"):
        open_source("3")
    with pytest.raises(RegtrackError, match="cannot open camera 0"):
        open_source(0)
    assert opened == [3, 0]
