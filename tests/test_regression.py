"""The online deep-regression module (regtrack.core.regression): the Fourier-domain base layer
against a plain convolution, the head's branches, training to a threshold, PCA, the buffer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from regtrack.core.labels import centered_gaussian_label, crest_search_window, gaussian_label, make_odd
from regtrack.core.losses import crest_l2, crest_l2_report, make_loss
from regtrack.core.regression import (
    CorrelationConv,
    RegressionHead,
    SampleBuffer,
    pca_projection,
    target_kernel_size,
    train_head,
)


@pytest.mark.parametrize("hw,k", [((17, 23), (5, 7)), ((9, 9), (11, 13)), ((31, 20), (1, 3))])
def test_fourier_base_layer_equals_a_plain_convolution(hw: tuple[int, int], k: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, *hw, generator=gen, dtype=torch.float64)
    layer = CorrelationConv(4, k, torch.randn(4, *k, generator=gen, dtype=torch.float64)).double()
    layer.bias.data.fill_(0.25)
    ref = F.conv2d(x, layer.weight[None], layer.bias, padding=(k[0] // 2, k[1] // 2))
    out = layer(x)
    assert out.shape == (2, 1, *hw)
    assert torch.allclose(out, ref, atol=1e-10)
    # the precomputed spectrum gives the same, and gradients agree with the direct convolution
    assert torch.allclose(layer(x, layer.spectrum(x)), ref, atol=1e-10)
    out.square().sum().backward()
    g_fft = layer.weight.grad.clone()
    w = layer.weight.detach().clone().requires_grad_(True)
    F.conv2d(x, w[None], layer.bias.detach(), padding=(k[0] // 2, k[1] // 2)).square().sum().backward()
    assert torch.allclose(g_fft, w.grad, atol=1e-8)


def test_even_kernels_are_refused_for_same_padding() -> None:
    with pytest.raises(ValueError, match="odd"):
        CorrelationConv(3, (4, 5))


@pytest.mark.parametrize("k", [(4, 7), (1, 1), (6, 6)])
def test_valid_padding_equals_a_plain_convolution(k: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 15, 12, generator=gen, dtype=torch.float64)
    weight = torch.randn(3, *k, generator=gen, dtype=torch.float64)
    layer = CorrelationConv(3, k, weight, padding="valid").double()
    ref = F.conv2d(x, layer.weight[None], layer.bias)
    assert layer(x).shape == ref.shape == (2, 1, 15 - k[0] + 1, 12 - k[1] + 1)
    assert torch.allclose(layer(x), ref, atol=1e-10)


def test_kernel_spans_the_target() -> None:
    assert target_kernel_size((10, 7)) == (11, 9)  # 2 ceil(s/2) + 1 (initNet.m)
    assert target_kernel_size((1, 2)) == (3, 3)


def test_head_branches_and_ablation() -> None:
    head = RegressionHead(8, (5, 5))
    x = torch.randn(3, 8, 12, 12)
    parts = head.branches(x, x[:1])
    assert set(parts) == {"base", "spatial", "temporal"}
    assert torch.allclose(head(x, x[:1]), sum(parts.values()))
    # initNet.m's tiny initial weights: the untrained head outputs ~0
    assert float(head(x, x[:1]).detach().abs().max()) < 1e-6
    plain = RegressionHead(8, (5, 5), spatial_residual=False, temporal_residual=False)
    assert set(plain.branches(x)) == {"base"}
    with pytest.raises(ValueError, match="first frame"):
        head.branches(x)
    # per-parameter multipliers: the temporal branch learns 100x slower and decays 1000x more
    groups = {id(g["params"][0]): g for g in head.param_groups(1.0, 2.0)}
    t = groups[id(head.temporal.weight)]
    assert t["lr"] == pytest.approx(1e-2) and t["weight_decay"] == pytest.approx(2e3)
    assert groups[id(head.spatial[2].weight)]["lr"] == 1.0


def test_training_reaches_the_label_and_stops_under_the_threshold() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(1, 16, 25, 25, generator=gen)) * 50  # conv-feature-like scale
    label = torch.from_numpy(centered_gaussian_label(25, 25, (1.5, 1.5), 0.3))[None, None]
    head = RegressionHead(16, (7, 7))
    before = float(crest_l2_report(head(x, x).detach(), label))
    result = train_head(head, (x, x), label, loss=crest_l2, lr=1e-4, weight_decay=0.0,
                        max_iterations=500, stop_below=0.02, report=crest_l2_report)
    assert result.converged and result.losses[-1] < 0.02 < before
    assert result.iterations < 500
    with torch.no_grad():
        out = head(x, x)[0, 0]
    assert np.unravel_index(int(out.argmax()), out.shape) == (12, 12)
    # a cap without convergence is reported as such
    capped = train_head(RegressionHead(16, (7, 7)), (x, x), label, loss=make_loss("l2"), lr=1e-9,
                        weight_decay=0.0, max_iterations=3, stop_below=1e-9)
    assert not capped.converged and capped.iterations == 3


def test_pca_is_matlabs() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 3)) @ np.diag([5.0, 2.0, 0.1]) @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
    coeff = pca_projection(data, 2)
    assert coeff.shape == (3, 2)
    assert np.allclose(coeff.T @ coeff, np.eye(2), atol=1e-5)
    # the first direction carries the most variance; each direction's largest entry is positive
    centred = data - data.mean(0)
    var = (centred @ coeff).var(0)
    assert var[0] > var[1] > (centred @ np.cross(coeff[:, 0], coeff[:, 1])).var()
    assert all(coeff[np.abs(coeff[:, j]).argmax(), j] > 0 for j in range(2))
    assert pca_projection(data[:2], 3).shape == (3, 3)  # fewer samples than channels: padded


def test_sample_buffer_keeps_the_last_samples() -> None:
    buf = SampleBuffer(2)
    for i in range(3):
        buf.add(torch.full((1, 2, 2), float(i)), torch.zeros(1, 2, 2))
    x, y = buf.batch()
    assert len(buf) == 2 and x.shape == (2, 1, 2, 2) and float(x[0, 0, 0, 0]) == 1.0
    buf.clear()
    assert len(buf) == 0


def test_labels_and_windows() -> None:
    assert make_odd(10) == 11 and make_odd(11) == 11
    assert crest_search_window(np.array([20.0, 31.0])) == 155  # 5 x 31, odd
    assert crest_search_window(np.array([20.0, 30.0])) == 151
    g = centered_gaussian_label(7, 9, (2.0, 3.0), alpha=0.3)
    assert np.unravel_index(g.argmax(), g.shape) == (3, 4)
    assert g[3, 4 + 3] == pytest.approx(np.exp(-0.3))
    # alpha 0.5 is the usual Gaussian
    usual = gaussian_label(9, 9, 2.0, peak="center")
    assert np.allclose(centered_gaussian_label(9, 9, (2.0, 2.0), 0.5), usual)
