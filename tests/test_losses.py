"""The regression losses of CREST and DSLT (regtrack.core.losses), pinned on small inputs by the
papers' formulas, and their modulating factors."""

from __future__ import annotations

import math

import pytest
import torch

from regtrack.core.losses import (
    crest_l2,
    crest_l2_report,
    l2_loss,
    l3_loss,
    make_loss,
    modulating_factor,
    shrinkage_loss,
)

X = torch.tensor([[0.5, 0.05, 1.0], [0.0, 0.3, -0.4]], dtype=torch.float64)
Y = torch.tensor([[0.0, 0.0, 1.0], [0.2, 1.0, 0.0]], dtype=torch.float64)
L = (X - Y).abs()  # 0.5, 0.05, 0, 0.2, 0.7, 0.4


def test_l2_is_the_sum_of_squares() -> None:
    assert float(l2_loss(X, Y)) == pytest.approx(0.25 + 0.0025 + 0 + 0.04 + 0.49 + 0.16)
    w = torch.full_like(Y, 2.0)
    assert float(l2_loss(X, Y, w)) == pytest.approx(2 * float(l2_loss(X, Y)))


def test_l3_is_the_focal_regression_loss() -> None:
    # gamma = 1: l^3 (DSLT eq. 3)
    assert float(l3_loss(X, Y)) == pytest.approx(float((L**3).sum()))
    assert float(l3_loss(X, Y, gamma=2.0)) == pytest.approx(float((L**4).sum()))


def test_shrinkage_formula_by_hand() -> None:
    # L = l^2 / (1 + exp(a (c - l))), a = 10, c = 0.2 (DSLT eq. 5)
    expected = sum(v**2 / (1 + math.exp(10 * (0.2 - v))) for v in L.flatten().tolist())
    assert float(shrinkage_loss(X, Y)) == pytest.approx(expected)
    # l = 0.5 alone: 0.25 / (1 + e^-3)
    one = shrinkage_loss(torch.tensor([0.5]), torch.tensor([0.0]))
    assert float(one) == pytest.approx(0.25 / (1 + math.exp(-3)))
    # a and c move the knee
    assert float(shrinkage_loss(torch.tensor([0.2]), torch.tensor([0.0]), a=10, c=0.2)) == pytest.approx(0.02)


def test_shrinkage_shrinks_easy_samples_only() -> None:
    easy, hard = torch.tensor([0.05]), torch.tensor([0.9])
    m = lambda name, v: float(modulating_factor(name, v))  # noqa: E731
    assert m("shrinkage", easy) < 0.25 and m("shrinkage", hard) > 0.99
    # the focal loss shrinks the easy ones too, but also *raises* nothing above l = 1 ...
    assert m("l3", easy) == pytest.approx(0.05) and m("l3", hard) == pytest.approx(0.9)
    assert m("l2", easy) == m("l2", hard) == 1.0
    # ... and the factor times l^2 is the loss itself
    for name, fn in (("l2", l2_loss), ("l3", l3_loss), ("shrinkage", shrinkage_loss)):
        assert float((modulating_factor(name, L) * L**2).sum()) == pytest.approx(float(fn(X, Y)))


def test_crest_loss_dead_zone_and_released_gradient() -> None:
    # L2normLoss.m: differences under 0.1 count zero; forward reports sum((e^Y d)^2); backward
    # is (2/n) e^Y d with n the pixels of a map
    x = X.clone().requires_grad_(True)
    d = torch.where(L < 0.1, torch.zeros_like(L), X - Y)
    assert float(crest_l2_report(X, Y)) == pytest.approx(float(((torch.exp(Y) * d) ** 2).sum()))
    crest_l2(x, Y).backward()
    n = X.shape[-1] * X.shape[-2]
    assert torch.allclose(x.grad, 2.0 / n * torch.exp(Y) * d)
    assert float(x.grad[0, 1]) == 0.0  # |d| = 0.05: in the dead zone


def test_make_loss_by_name() -> None:
    assert float(make_loss("l2")(X, Y)) == pytest.approx(float(l2_loss(X, Y)))
    expected = float(shrinkage_loss(X, Y, a=5, c=0.3))
    assert float(make_loss("shrinkage", a=5, c=0.3)(X, Y)) == pytest.approx(expected)
    weighted = make_loss("shrinkage", label_weight=torch.exp)(X, Y)
    assert float(weighted) == pytest.approx(float(shrinkage_loss(X, Y, torch.exp(Y))))
    assert make_loss("crest") is crest_l2
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("l1")


def test_show_losses_writes_the_picture(tmp_path) -> None:  # noqa: ANN001
    import cv2

    from regtrack.viz.losses import modulation_table, render_loss_modulation

    out = render_loss_modulation(tmp_path / "losses.png")
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] > img.shape[0] > 200
    rows = {round(r[0], 2): r[1:] for r in modulation_table((0.1, 0.2, 0.9))}
    assert rows[0.2][2] == pytest.approx(0.5)  # shrinkage: m(c) = 1/2
    assert rows[0.1][1] == pytest.approx(0.1) and rows[0.9][0] == 1.0
