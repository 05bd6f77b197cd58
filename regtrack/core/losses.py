"""Regression losses of the deep-regression trackers, as plain functions of a prediction map and
its Gaussian label (CREST, Song et al. ICCV 2017; DSLT, Lu et al. ECCV 2018).

Every loss here is a sum over the map of a per-sample loss of the absolute difference
``l = |prediction - label|``, optionally weighted per sample. What tells the losses apart is how
much each sample counts: its *modulating factor* ``m(l)`` in ``loss = m(l) * l^2`` —
:func:`modulating_factor` returns it, and the DSLT pictures plot exactly these functions:

* L2:         ``m = 1``                                  every sample counts the same;
* L3 (focal): ``m = l^gamma`` (``gamma = 1``: ``l^3``)   easy samples down, hard samples *up*
  (the focal loss of Lin et al. ICCV 2017 carried to regression, DSLT eq. 3);
* shrinkage:  ``m = 1 / (1 + exp(a (c - l)))``           only easy samples (small ``l``) down;
  ``a = 10`` is the shrinkage speed, ``c = 0.2`` the localisation (DSLT eq. 5).

CREST's loss (``L2normLoss.m`` of the released code) weights each sample by ``exp(label)`` — the
target's neighbourhood counts more — and sets differences under 0.1 to zero, a hard dead zone
that the shrinkage loss later made smooth. The released code reports
``sum((exp(Y) (X - Y))^2)`` but back-propagates ``(2 / n) exp(Y) (X - Y)``, the gradient of
``mean(exp(Y) (X - Y)^2)``: :func:`crest_l2` is the latter (what moved the weights), and
:func:`crest_l2_report` the former (what its stopping rule compares with 0.02).

All functions take torch tensors of one shape (any, e.g. ``N x 1 x H x W``) and return a scalar
tensor, differentiable in ``prediction``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

LOSSES = ("crest", "l2", "l3", "shrinkage")

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def modulating_factor(name: str, abs_diff: torch.Tensor, *, gamma: float = 1.0, a: float = 10.0,
                      c: float = 0.2) -> torch.Tensor:
    """The weight ``m(l)`` that loss ``name`` gives a sample of absolute difference ``l``
    (``loss = m(l) l^2``; DSLT eq. 2, 3, 5). CREST's dead zone: 0 below 0.1, else 1 (its
    ``exp(label)`` weight is per sample, not a function of ``l``)."""
    if name == "l2":
        return torch.ones_like(abs_diff)
    if name == "l3":
        return abs_diff**gamma
    if name == "shrinkage":
        return torch.sigmoid(a * (abs_diff - c))  # = 1 / (1 + exp(a (c - l)))
    if name == "crest":
        return (abs_diff >= 0.1).to(abs_diff.dtype)
    raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def l2_loss(prediction: torch.Tensor, label: torch.Tensor,
            weight: torch.Tensor | None = None) -> torch.Tensor:
    """``sum(w (X - Y)^2)``: plain L2 (DSLT eq. 2), each sample optionally weighted by ``w``."""
    sq = (prediction - label) ** 2
    return (sq if weight is None else weight * sq).sum()


def l3_loss(prediction: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
            gamma: float = 1.0) -> torch.Tensor:
    """``sum(w l^gamma l^2)``, ``l = |X - Y|``: the focal (L3) regression loss (DSLT eq. 3)."""
    diff = (prediction - label).abs()
    loss = diff**gamma * diff**2
    return (loss if weight is None else weight * loss).sum()


def shrinkage_loss(prediction: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                   a: float = 10.0, c: float = 0.2) -> torch.Tensor:
    """``sum(w l^2 / (1 + exp(a (c - l))))``, ``l = |X - Y|``: the shrinkage loss (DSLT eq. 5-6;
    ``w = exp(Y)`` gives eq. 6). ``a`` sets how fast easy samples are shrunk, ``c`` where."""
    diff = (prediction - label).abs()
    loss = diff**2 * torch.sigmoid(a * (diff - c))
    return (loss if weight is None else weight * loss).sum()


def _dead_zone(prediction: torch.Tensor, label: torch.Tensor, zone: float) -> torch.Tensor:
    """``X - Y`` with differences under ``zone`` set to 0 (``L2normLoss.m``: ``X(idx) = C(idx)``)."""
    diff = prediction - label
    return torch.where(diff.abs() < zone, torch.zeros_like(diff), diff)


def crest_l2(prediction: torch.Tensor, label: torch.Tensor, zone: float = 0.1) -> torch.Tensor:
    """CREST's training loss: ``mean(exp(Y) d^2)``, ``d = X - Y`` zeroed where ``|d| < zone``;
    its gradient ``(2/n) exp(Y) d`` is the one ``L2normLoss.m`` back-propagates (``n`` = pixels
    of one map, the mean taken per map and summed over the batch, as MatConvNet does)."""
    d = _dead_zone(prediction, label, zone)
    per_map = prediction.shape[-1] * prediction.shape[-2]
    return (torch.exp(label) * d**2).sum() / per_map


def crest_l2_report(prediction: torch.Tensor, label: torch.Tensor, zone: float = 0.1) -> torch.Tensor:
    """The value ``L2normLoss.m``'s forward pass reports, ``sum((exp(Y) d)^2)``, which CREST's
    training loop compares with its stopping thresholds (0.02 first frame, 0.01 updates)."""
    d = _dead_zone(prediction, label, zone)
    return ((torch.exp(label) * d) ** 2).sum()


def make_loss(name: str, *, gamma: float = 1.0, a: float = 10.0, c: float = 0.2,
              label_weight: Callable[[torch.Tensor], torch.Tensor] | None = None) -> LossFn:
    """The loss ``name`` (one of :data:`LOSSES`) as ``f(prediction, label) -> scalar``.
    ``label_weight(Y)``, when given, is the per-sample weight of l2 / l3 / shrinkage (e.g.
    ``torch.exp`` for DSLT eq. 6); CREST's weight is always ``exp(Y)``."""
    if name == "crest":
        return crest_l2
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")

    def loss(prediction: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        w = label_weight(label) if label_weight is not None else None
        if name == "l2":
            return l2_loss(prediction, label, w)
        if name == "l3":
            return l3_loss(prediction, label, w, gamma)
        return shrinkage_loss(prediction, label, w, a, c)

    return loss
