"""The udt / dcfnet trackers on real frames (short clips; the full benchmark is benchmarks/bench_udt.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regtrack.datasets.sources import read_image
from regtrack.errors import RegtrackError
from regtrack.evaluation.metrics import overlap_ratios
from regtrack.trackers.base import create_tracker, parse_overrides, tracker_class
from regtrack.trackers.udt import UDTTracker, default_weights_path


def _clip(shared, name: str, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    seq = json.loads((shared / "data/annotations/OTB100.json").read_text())[name]
    frames = [read_image(shared / "data/otb" / p) for p in seq["img_names"][:n]]
    return frames, np.asarray(seq["gt_rect"][:n], dtype=np.float64)


def _run(tracker, frames, gt) -> np.ndarray:
    tracker.init(frames[0], gt[0])
    boxes = [gt[0]] + [tracker.update(f) for f in frames[1:]]
    return overlap_ratios(np.vstack(boxes), gt)


def test_registered_with_paper_defaults():
    udt, dcfnet = tracker_class("udt"), tracker_class("dcfnet")
    p = udt.Params()
    assert (p.padding, p.scale_step, p.scale_penalty, p.interp_factor, p.lam, p.output_sigma_factor) == (
        1.8,
        1.015,
        1.2,
        0.01,
        1e-4,
        0.1,
    )
    assert (dcfnet.Params().padding, dcfnet.Params().scale_step) == (2.0, 1.0275)
    assert parse_overrides("udt", ["weights=x.mat", "padding=2"]) == {"weights": "x.mat", "padding": 2.0}


@pytest.mark.slow
def test_udt_official_weights_track_bird2(shared):
    frames, gt = _clip(shared, "Bird2", 40)
    iou = _run(
        create_tracker("udt", {"weights": str(shared / "weights/udt/UDT_Unsupervised.mat")}), frames, gt
    )
    assert iou.mean() > 0.6


@pytest.mark.slow
def test_dcfnet_tracks_and_feature_reuse_matches_recomputation(shared):
    frames, gt = _clip(shared, "Crossing", 30)
    w = str(shared / "weights/dcfnet/DCFNet-net-7-125-2.mat")
    fast = _run(create_tracker("dcfnet", {"weights": w}), frames, gt)
    exact = _run(create_tracker("dcfnet", {"weights": w, "reuse_features": False}), frames, gt)
    assert fast.mean() > 0.6 and abs(fast.mean() - exact.mean()) < 0.02


def test_default_weights_are_packaged_ours():
    path = default_weights_path()
    assert path.is_file(), "regtrack/data/udt_regtrack.pth must ship with the package"
    tracker = UDTTracker()
    assert tracker.net.source == str(path)
    image = np.zeros((60, 80, 3), np.uint8)
    image[20:35, 30:50] = 255
    tracker.init(image, np.array([31, 21, 20, 15]))
    box = tracker.update(image)
    np.testing.assert_allclose(box, [31, 21, 20, 15], atol=1.0)


def test_dcfnet_needs_weights_and_bad_weights_are_named(tmp_path):
    with pytest.raises(RegtrackError, match="needs a weights file"):
        create_tracker("dcfnet")
    bad = tmp_path / "model.pth"
    bad.write_text("nope")
    with pytest.raises(RegtrackError, match="model.pth"):
        create_tracker("udt", {"weights": str(bad)})


def _boxes(tracker, frames, gt) -> np.ndarray:
    tracker.init(frames[0], gt[0])
    return np.vstack([gt[0]] + [tracker.update(f) for f in frames[1:]])


def test_overlapped_update_gives_the_sequential_numbers(shared):
    """The model update on the second thread is a scheduling change only: same boxes, bit for bit."""
    frames, gt = _clip(shared, "Crossing", 25)
    overlapped = _boxes(create_tracker("udt"), frames, gt)
    sequential = _boxes(create_tracker("udt", {"overlap_update": False}), frames, gt)
    np.testing.assert_array_equal(overlapped, sequential)


def test_lazy_centre_scale_gives_the_full_search_boxes(shared):
    """The centre crop skipped when its estimate cannot win, or always checked (margin 0): the
    boxes of the full three-crop search, bit for bit."""
    frames, gt = _clip(shared, "Bird2", 30)
    w = str(shared / "weights/udt/UDT_Unsupervised.mat")
    full = _boxes(create_tracker("udt", {"weights": w, "lazy_centre_scale": False,
                                         "overlap_update": False}), frames, gt)
    lazy = create_tracker("udt", {"weights": w})
    np.testing.assert_array_equal(_boxes(lazy, frames, gt), full)
    assert len(lazy.centre_estimates) == len(frames) - 1
    checked = create_tracker("udt", {"weights": w, "centre_check_margin": 0.0})
    np.testing.assert_array_equal(_boxes(checked, frames, gt), full)
    assert checked.centre_checks == len(frames) - 1
    estimate, side, exact = np.array(checked.centre_estimates).T
    assert np.all(np.abs(estimate - exact) < 0.05 * exact)  # the estimate is close to the truth


def test_lazy_centre_is_off_when_the_penalty_favours_the_centre():
    tracker = tracker_class("dcfnet").__new__(tracker_class("dcfnet"))
    tracker.params = tracker_class("dcfnet").Params()
    assert not tracker._lazy_centre  # DCFNet's penalty 0.9925 < 1: every crop through the net


def test_net_threads_are_restored():
    import torch

    before = torch.get_num_threads()
    tracker = UDTTracker(threads=1)
    image = np.zeros((60, 80, 3), np.uint8)
    image[20:35, 30:50] = 255
    tracker.init(image, np.array([31, 21, 20, 15]))
    tracker.update(image)
    assert torch.get_num_threads() == before
