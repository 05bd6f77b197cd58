"""UDT's unsupervised training: the differentiable filter, the losses, the loop (tiny synthetic runs)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from regtrack.cli import main as cli_main
from regtrack.core.labels import gaussian_label
from regtrack.errors import RegtrackError
from regtrack.features.udt_net import load_udt_weights
from regtrack.training.data import build_crops, find_videos, sample_triplets
from regtrack.training.udt import ForwardBackward, TrainConfig, batch_loss, cost_weights, train_udt


def _videos(root, n_videos=2, n_frames=6, boxes=True, size=(64, 48)):
    rng = np.random.default_rng(0)
    for v in range(n_videos):
        d = root / f"vid{v}" / "img"
        d.mkdir(parents=True)
        bg = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        rows = []
        for i in range(n_frames):
            img = np.roll(bg, i, axis=1).copy()
            x, y = 20 + 2 * i, 15 + i
            img[y : y + 12, x : x + 10] = (255, 0, 0)
            cv2.imwrite(str(d / f"{i + 1:05d}.jpg"), img[:, :, ::-1])
            rows.append(f"{x + 1},{y + 1},10,12")
        if boxes:
            (root / f"vid{v}" / "groundtruth_rect.txt").write_text("\n".join(rows))
    return root


TINY = TrainConfig(epochs=2, batch_size=4, pairs_per_epoch=8, input_size=33, matconvnet_grad_scale=False)


def test_dcf_layer_gradient_is_exact():
    """The filter layer is the core's, on torch: autograd through it matches finite differences."""
    fb = ForwardBackward(8, 1.5, 1e-2)
    x = torch.randn(1, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    z = torch.randn(1, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    yf = fb.yf.to(torch.complex128)
    assert torch.autograd.gradcheck(lambda a, b: fb.track(a, b, yf), (x, z))


def test_shifted_label_is_the_label_moved_to_the_peak():
    fb = ForwardBackward(12, 2.0, 1e-4)
    response = torch.zeros(1, 12, 12)
    response[0, 3, 10] = 1.0
    moved = torch.fft.irfft2(fb.shifted_labelf(response), s=(12, 12))[0].numpy()
    np.testing.assert_allclose(moved, np.roll(gaussian_label(12, 12, 2.0), (3, 10), axis=(0, 1)), atol=1e-5)


def test_forward_backward_on_a_still_video_returns_home():
    """x = z1 = z2: tracking forward and back lands on the initial label (small loss)."""
    fb = ForwardBackward(16, 2.0, 1e-4)
    f = torch.randn(2, 1, 4, 16, 16).expand(2, 3, 4, 16, 16)
    x = f[:, 0]
    r1 = fb.track(x, x, fb.yf.expand(2, *fb.yf.shape))
    assert float(((r1 - fb.y) ** 2).sum()) < 1e-2


def test_cost_sensitive_weights_drop_the_worst_and_normalise():
    y = torch.from_numpy(gaussian_label(6, 6, 1.0))
    err = torch.stack([torch.full((6, 6), v) for v in (1.0, 2.0, 3.0, 100.0)])
    r1 = torch.stack([y + v for v in (0.1, 0.2, 0.3, 0.4)])
    w = cost_weights(err, y, r1, None, drop_ratio=0.25)
    assert float(w[3].abs().sum()) == 0.0  # the highest-loss sample is dropped
    motion = (w / torch.exp(y))[:, 0, 0]
    assert float(motion.sum()) == pytest.approx(4.0, rel=1e-5)  # normalised to the batch size
    assert motion[0] < motion[1] < motion[2]  # more motion, more weight


def test_no_usable_video_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegtrackError, match="no usable training video"):
        find_videos(tmp_path)
    _videos(tmp_path / "nobox", boxes=False)
    with pytest.raises(RegtrackError, match="ground-truth boxes"):
        find_videos(tmp_path / "nobox", need_boxes=True)
    assert (
        cli_main(["train", "udt", "--videos", str(tmp_path / "empty"), "--out", str(tmp_path / "w.pth")]) == 2
    )


def test_sampler_stays_within_a_video_and_max_step(tmp_path):
    vids = find_videos(_videos(tmp_path, n_frames=15))
    bank = build_crops(vids, supervised=False, size=33, max_step=3, progress=False)
    idx = sample_triplets(bank, 200, np.random.default_rng(1))
    assert (bank.video[idx[:, 0]] == bank.video[idx[:, 1]]).all() and (
        bank.video[idx[:, 0]] == bank.video[idx[:, 2]]
    ).all()
    gaps = idx[:, 1:] - idx[:, :1]
    assert gaps.min() >= 1 and gaps.max() <= 3



def test_pseudo_grid_tracks_stay_within_their_own_box(tmp_path):
    """K x K pseudo tracks: K^2 times the crops, the central track equals the paper's crops, and a
    triplet never mixes two tracks (each track is one fixed box over the video's frames)."""
    vids = find_videos(_videos(tmp_path, n_frames=15))
    one = build_crops(vids, supervised=False, size=33, max_step=3, progress=False)
    grid = build_crops(vids, supervised=False, size=33, max_step=3, progress=False, pseudo_grid=3)
    per_video = len(one.crops) // 2
    assert len(grid.crops) == 9 * len(one.crops) and len(grid.usable) == 9 * len(one.usable)
    centre = grid.crops[4 * per_video : 5 * per_video]  # track 4 of the first video: fractions (1/2, 1/2)
    assert np.array_equal(centre, one.crops[:per_video])
    assert not np.array_equal(grid.crops[:per_video], centre)  # a corner track sees other pixels
    idx = sample_triplets(grid, 500, np.random.default_rng(2))
    track = idx // per_video
    assert (track[:, 0] == track[:, 1]).all() and (track[:, 0] == track[:, 2]).all()
    assert (idx[:, 1:] - idx[:, :1]).max() <= 3

@pytest.mark.parametrize(
    "kind", [{}, {"multi_frame": False}, {"cost_sensitive": False}, {"supervised": True}]
)
def test_batch_loss_all_variants(tmp_path, kind):
    cfg = dataclasses.replace(TINY, **kind)
    bank = build_crops(find_videos(_videos(tmp_path)), cfg.supervised, 33, progress=False)
    batch = torch.from_numpy(bank.crops[sample_triplets(bank, 4, np.random.default_rng(0))]).permute(
        0, 1, 4, 2, 3
    )
    from regtrack.features.udt_net import init_udt_net

    net = init_udt_net(0, padding=0)
    loss = batch_loss(net, ForwardBackward(29, 1.1, 1e-4), batch.float(), cfg, chunk=3)
    loss.backward()
    assert torch.isfinite(loss) and net.conv1.weight.grad.abs().sum() > 0


def test_train_checkpoints_resumes_and_repeats(tmp_path):
    videos = _videos(tmp_path / "v")
    out = tmp_path / "a.pth"
    hist = train_udt(videos, out, TINY, progress=False, log=lambda *_: None)
    assert len(hist["epoch_loss"]) == 2
    assert (tmp_path / "a.pth.ckpt").is_file() and (tmp_path / "a.pth.loss.png").is_file()
    ckpt_net = load_udt_weights(tmp_path / "a.pth.ckpt")  # a checkpoint loads like a weights file
    for pa, pb in zip(load_udt_weights(out).parameters(), ckpt_net.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    # an interrupted run (1 epoch) resumed to 2 epochs gives the same weights as the unbroken run
    out_b = tmp_path / "b.pth"
    one = dataclasses.replace(TINY, epochs=1)
    train_udt(videos, out_b, one, progress=False, log=lambda *_: None)
    ck = torch.load(tmp_path / "b.pth.ckpt", weights_only=False)
    ck["config"]["epochs"] = 2  # as if the run had been planned for 2 epochs and stopped
    torch.save(ck, tmp_path / "b.pth.ckpt")
    train_udt(videos, out_b, TINY, resume=True, progress=False, log=lambda *_: None)
    a, b = load_udt_weights(out), load_udt_weights(out_b)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
