"""The udt / dcfnet trackers on real frames (short clips; the full benchmark is benchmarks/bench_udt.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regtrack.datasets.sources import read_image
from regtrack.errors import RegtrackError
from regtrack.evaluation.metrics import overlap_ratios
from regtrack.trackers.base import create_tracker, parse_overrides, tracker_class
from regtrack.trackers.udt import UDTTracker, _shift, default_weights_path


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


def test_shift_is_integer_translation():
    a = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    s = _shift(a, 1, -2)
    np.testing.assert_array_equal(s[:, 0:4, 2:6], a[:, 1:5, 0:4])
    assert not s[:, 4].any() and not s[:, :, :2].any()
