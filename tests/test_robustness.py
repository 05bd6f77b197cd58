"""Robustness of the trackers on awkward input: boxes partly or wholly outside the frame, tiny
and zero-size boxes, grey / RGB / RGBA frames, a frame whose size changes, and a target that
leaves the frame and comes back. Every frame must give a valid box."""

import cv2
import numpy as np
import pytest

from regtrack.demo import synthetic_sequence
from regtrack.errors import RegtrackError
from regtrack.evaluation.metrics import center_errors
from regtrack.trackers.base import create_tracker

TRACKERS = ["kcf", "dsst", "opencv_kcf", "udt", "hcf_lite0"]


def _valid(box, shape):
    box = np.asarray(box, dtype=float)
    return box.shape == (4,) and np.all(np.isfinite(box)) and box[2] > 0 and box[3] > 0


def _still(n=6, center=(160.0, 120.0), size=(40.0, 30.0)):
    return synthetic_sequence(np.tile(center, (n, 1)), np.tile(size, (n, 1)))


def _make(name):
    """A tracker by test name; ``hcf_lite0`` is HCF on the offline ImageNet backbone."""
    if name == "hcf_lite0":
        return create_tracker("hcf", {"backbone": "efficientnet_lite0"})
    return create_tracker(name)


def _run(name, frames, box):
    t = _make(name)
    t.init(frames[0], box)
    out = [t.update(f) for f in frames[1:]]
    assert all(_valid(b, frames[0].shape) for b in out), out
    return np.array(out)


@pytest.mark.parametrize("name", TRACKERS)
def test_box_partly_outside_the_frame(name):
    frames, _ = _still(center=(5.0, 8.0))
    _run(name, frames, np.array([-15.0, -10.0, 40.0, 30.0]))


@pytest.mark.parametrize("name", TRACKERS)
def test_box_wholly_outside_or_zero_size_is_a_clear_error(name):
    frames, _ = _still()
    for box, match in (([400, 10, 20, 20], "outside"), ([10, 10, 0, 20], "zero"), ([10, 10, 5, -1], "zero")):
        with pytest.raises(RegtrackError, match=match) as err:
            _make(name).init(frames[0], box)
        assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", TRACKERS)
def test_box_of_a_few_pixels(name):
    centers = np.array([[100.0 + i, 80.0] for i in range(6)])
    frames, gt = synthetic_sequence(centers, np.tile([4.0, 3.0], (6, 1)))
    out = _run(name, frames, gt[0])
    if name != "opencv_kcf":
        assert np.allclose(out[:, 2:], gt[1:, 2:], rtol=0.5)


@pytest.mark.parametrize("name", TRACKERS)
@pytest.mark.parametrize("mode", ["grey2d", "grey3d", "rgb", "rgba"])
def test_grey_rgb_and_rgba_frames(name, mode):
    frames, gt = _still()
    conv = {"grey2d": lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2GRAY),
            "grey3d": lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)[:, :, None],
            "rgb": lambda f: f,
            "rgba": lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2RGBA)}[mode]
    out = _run(name, [conv(f) for f in frames], gt[0])
    assert np.abs(out[:, :2] - gt[0, :2]).max() < 3  # a still target stays put


@pytest.mark.parametrize("name", TRACKERS)
def test_frame_size_change_is_a_clear_error(name):
    frames, gt = _still(n=2)
    t = _make(name)
    t.init(frames[0], gt[0])
    with pytest.raises(RegtrackError, match="frame size changed"):
        t.update(cv2.resize(frames[1], (200, 150)))


@pytest.mark.parametrize("name", ["kcf", "dsst", "opencv_kcf", "opencv_csrt", "udt", "hcf_lite0"])
def test_target_leaves_the_frame_and_comes_back(name):
    xs = np.concatenate([np.linspace(160, 360, 20), np.full(6, 360.0), np.linspace(360, 160, 20)])
    n = len(xs)
    centers = np.stack([xs, np.full(n, 120.0)], axis=1)
    frames, gt = synthetic_sequence(centers, np.tile([40.0, 30.0], (n, 1)))
    out = _run(name, frames, gt[0])
    H, W = frames[0].shape[:2]
    for b in out:  # each box still touches the frame
        assert b[0] <= W and b[1] <= H and b[0] + b[2] >= 1 and b[1] + b[3] >= 1
    if name in ("kcf", "dsst"):  # waiting at the border it left by, the tracker picks it up again
        assert center_errors(out[-10:], gt[-10:]).max() < 5


def test_frame_helpers():
    from regtrack.core.box import clamp_center
    from regtrack.core.sampling import as_rgb, check_frame_size

    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert as_rgb(grey).shape == (3, 4, 3) and (as_rgb(grey)[..., 2] == grey).all()
    assert as_rgb(np.zeros((3, 4, 4), np.uint8)).shape == (3, 4, 3)
    assert as_rgb(np.full((2, 2, 3), 300.0)).max() == 255
    with pytest.raises(RegtrackError, match="not an image"):
        as_rgb(np.zeros((3, 4, 2), np.uint8))
    check_frame_size(np.zeros((3, 4, 3)), (3, 4))
    with pytest.raises(RegtrackError, match="frame 7"):
        check_frame_size(np.zeros((3, 5, 3)), (3, 4), 7)
    assert list(clamp_center([-5.0, 50.0], (20, 30))) == [0.0, 19.0]
