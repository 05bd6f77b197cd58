"""The OTB metrics, exactly as the official MATLAB toolkit computes them (pure NumPy).

Boxes everywhere in this module are OTB boxes ``[x, y, w, h]`` (1-based, :mod:`regtrack.core.box`),
one row per frame, prediction row ``i`` and ground-truth row ``i`` for the same frame.

Sources (``jwlim/tracker_benchmark``, "tracker_benchmark_v1.0"; reference.md §2.1):

* ``calcSeqErrRobust.m``: a prediction that is all-NaN or has ``w <= 0`` or ``h <= 0`` is replaced
  by the previous frame's (from frame 2 on, when that ground-truth row has no NaN); the first frame
  is overwritten with the ground truth; centre = ``x + (w-1)/2``; a ground-truth row is *valid*
  only when all four values are ``> 0``; on invalid rows the overlap is -1 (always fails the success
  plot) and the centre error is -1 (always *passes* the precision plot). Both stay in the
  denominator. pysot-toolkit does the same.
* ``calcRectInt.m``: overlap with the pixel-inclusive ``+1`` convention, which gives the same ratio
  as continuous boxes.
* ``genPerfMat.m``: success(t) = #frames with overlap ``> t`` / #frames over ``t = 0:0.05:1`` (21);
  precision(t) = #frames with error ``<= t`` / #frames over ``t = 0:50`` px (51).
* ``perfPlot.m`` / ``plotDrawSave.m``: AUC = the mean of the 21 success values; precision = the
  curve at 20 px; a dataset score is the mean of the per-sequence curves *after dropping the rows
  that sum to 0* (``aa = aa(sum(aa,2) > eps, :)``), then AUC / P@20 of that mean curve.

``invalid='pytracking'`` follows ``visionml/pytracking`` instead (invalid frames fail precision:
centre error +inf); ``invalid='exclude'`` drops invalid frames from the denominator (pytracking's
``exclude_invalid_frames``). Normalised precision (pysot-toolkit / pytracking, for LaSOT): the
centre error measured in units of the ground-truth width and height, thresholds ``0:0.01:0.5``,
score at 0.2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

OVERLAP_THRESHOLDS = np.linspace(0.0, 1.0, 21)  # thresholdSetOverlap = 0:0.05:1
ERROR_THRESHOLDS = np.arange(0, 51, dtype=np.float64)  # thresholdSetError = 0:50
NORM_ERROR_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0  # pysot-toolkit: arange(0,51)/100
PRECISION_INDEX = 20  # 20 px (MATLAB index 21)
NORM_PRECISION_INDEX = 20  # 0.2
SUCCESS_RATE_INDEX = 10  # IoU 0.5 ("0.5 success rate", MATLAB index 11)

InvalidMode = Literal["matlab", "pytracking", "exclude"]
INVALID_MODES = ("matlab", "pytracking", "exclude")


def _boxes(a: np.ndarray | Sequence[Sequence[float]], what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)  # .mat results are often uint8/uint16: cast first
    if arr.ndim == 1 and arr.size == 4:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what} must be an N x 4 array of x,y,w,h boxes, got shape {arr.shape}")
    return arr


def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, g = _boxes(pred, "pred"), _boxes(gt, "gt")
    if len(p) != len(g):
        raise ValueError(f"pred has {len(p)} rows but gt has {len(g)}; align them first "
                         "(regtrack.evaluation.results.align_result)")
    return p, g


def valid_gt(gt: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: ground-truth OTB rows whose four values are all ``> 0`` (NaN rows are invalid)."""
    g = _boxes(gt, "gt")
    with np.errstate(invalid="ignore"):
        return np.all(g > 0, axis=1)


def protocol_boxes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The OTB prediction rows the toolkit actually scores (``calcSeqErrRobust.m``).

    From frame 2 on, a prediction that is all NaN or has ``w <= 0`` / ``h <= 0`` becomes the previous
    frame's box (only where the ground-truth row has no NaN); then frame 1 becomes the ground truth.
    """
    p, g = _pair(pred, gt)
    p = p.copy()
    gt_has_nan = np.isnan(g).any(axis=1)
    with np.errstate(invalid="ignore"):
        bad = (np.isnan(p).all(axis=1) | (p[:, 2] <= 0) | (p[:, 3] <= 0)) & ~gt_has_nan
    for i in np.flatnonzero(bad):
        if i >= 1:
            p[i] = p[i - 1]
    if len(p):
        p[0] = g[0]
    return p


def overlap_ratios(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``(N,)`` IoU of OTB boxes; -1 where the ground truth is invalid (MATLAB ``calcSeqErrRobust``).

    Pure geometry: no first-frame replacement (see :func:`protocol_boxes`). Predictions with NaN or
    non-positive size overlap 0.
    """
    p, g = _pair(pred, gt)
    ok = valid_gt(g)
    # calcRectInt: right = x + w - 1, intersection = max(0, min(right) - max(left) + 1) -> continuous.
    left = np.maximum(p[:, 0], g[:, 0])
    right = np.minimum(p[:, 0] + p[:, 2], g[:, 0] + g[:, 2])
    top = np.maximum(p[:, 1], g[:, 1])
    bottom = np.minimum(p[:, 1] + p[:, 3], g[:, 1] + g[:, 3])
    with np.errstate(invalid="ignore", divide="ignore"):
        inter = np.maximum(0.0, right - left) * np.maximum(0.0, bottom - top)
        union = p[:, 2] * p[:, 3] + g[:, 2] * g[:, 3] - inter
        iou = np.where(union > 0, inter / union, 0.0)
    iou = np.clip(np.nan_to_num(iou, nan=0.0), 0.0, 1.0)
    return np.where(ok, iou, -1.0)


def _centers(b: np.ndarray) -> np.ndarray:
    return b[:, :2] + (b[:, 2:] - 1.0) / 2.0  # centre = x + (w-1)/2 (calcSeqErrRobust.m)


def center_errors(pred: np.ndarray, gt: np.ndarray, invalid: InvalidMode = "matlab") -> np.ndarray:
    """``(N,)`` centre distance in px between OTB boxes; on invalid ground truth -1 (``'matlab'``,
    passes every threshold), +inf (``'pytracking'``, fails) or NaN (``'exclude'``). Pure geometry."""
    p, g = _pair(pred, gt)
    d = np.sqrt(np.sum((_centers(p) - _centers(g)) ** 2, axis=1))
    d = np.nan_to_num(d, nan=np.inf)  # a NaN prediction is infinitely far
    return np.where(valid_gt(g), d, _invalid_fill(invalid))


def normalized_center_errors(pred: np.ndarray, gt: np.ndarray, invalid: InvalidMode = "matlab") -> np.ndarray:
    """``(N,)`` centre distance with x divided by the ground-truth width and y by its height
    (pysot-toolkit / pytracking normalised precision); invalid ground truth as in :func:`center_errors`."""
    p, g = _pair(pred, gt)
    ok = valid_gt(g)
    wh = np.where(ok[:, None], g[:, 2:], 1.0)
    d = np.sqrt(np.sum(((_centers(p) - _centers(g)) / wh) ** 2, axis=1))
    d = np.nan_to_num(d, nan=np.inf)
    return np.where(ok, d, _invalid_fill(invalid))


def _invalid_fill(invalid: str) -> float:
    if invalid not in INVALID_MODES:
        raise ValueError(f"invalid={invalid!r}: choose one of {', '.join(INVALID_MODES)}")
    return {"matlab": -1.0, "pytracking": np.inf, "exclude": np.nan}[invalid]


def _rate(values: np.ndarray, thresholds: np.ndarray, above: bool, denominator: int) -> np.ndarray:
    if denominator == 0:
        return np.zeros(len(thresholds))
    v = values[:, None]
    with np.errstate(invalid="ignore"):
        hits = (v > thresholds[None, :]) if above else (v <= thresholds[None, :])
    return hits.sum(axis=0) / float(denominator)


def _denominator(gt: np.ndarray, invalid: str) -> int:
    return int(valid_gt(gt).sum()) if invalid == "exclude" else len(gt)


def success_curve(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray | None = None,
                  invalid: InvalidMode = "matlab", protocol: bool = True) -> np.ndarray:
    """Fraction of frames with IoU ``> t`` for ``t`` in ``0:0.05:1`` -> ``(21,)`` (OTB boxes).

    With ``protocol=True`` (default) the predictions first go through :func:`protocol_boxes`
    (first frame = ground truth, invalid predictions = previous box).
    """
    p, g = _pair(pred, gt)
    if protocol:
        p = protocol_boxes(p, g)
    t = OVERLAP_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    iou = overlap_ratios(p, g)
    if invalid == "exclude":
        iou = iou[valid_gt(g)]
    else:
        _invalid_fill(invalid)
    return _rate(iou, t, above=True, denominator=_denominator(g, invalid))


def precision_curve(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray | None = None,
                    invalid: InvalidMode = "matlab", protocol: bool = True) -> np.ndarray:
    """Fraction of frames with centre error ``<= t`` px for ``t`` in ``0:50`` -> ``(51,)`` (OTB boxes)."""
    p, g = _pair(pred, gt)
    if protocol:
        p = protocol_boxes(p, g)
    t = ERROR_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    err = center_errors(p, g, invalid)
    return _rate(err, t, above=False, denominator=_denominator(g, invalid))


def normalized_precision_curve(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray | None = None,
                               invalid: InvalidMode = "matlab", protocol: bool = True) -> np.ndarray:
    """Fraction of frames with normalised centre error ``<= t`` for ``t`` in ``0:0.01:0.5`` -> ``(51,)``."""
    p, g = _pair(pred, gt)
    if protocol:
        p = protocol_boxes(p, g)
    t = NORM_ERROR_THRESHOLDS if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    err = normalized_center_errors(p, g, invalid)
    return _rate(err, t, above=False, denominator=_denominator(g, invalid))


def auc(success: np.ndarray) -> float:
    """Area under the success plot as the official toolkit ranks it: the mean of the curve
    (a 21-point mean, not an integral; reference.md §2.5)."""
    s = np.asarray(success, dtype=np.float64)
    return float(s.mean()) if s.size else 0.0


@dataclass
class SequenceScore:
    """Scores of one tracker on one sequence (curves over the default thresholds)."""

    name: str
    n_frames: int
    success_curve: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    invalid: str = "matlab"

    @property
    def auc(self) -> float:
        return auc(self.success_curve)

    @property
    def precision(self) -> float:
        """Precision at 20 px."""
        return float(self.precision_curve[PRECISION_INDEX])

    @property
    def norm_precision(self) -> float:
        """Normalised precision at 0.2."""
        return float(self.norm_precision_curve[NORM_PRECISION_INDEX])

    @property
    def success_rate(self) -> float:
        """Success at IoU 0.5 (OP50)."""
        return float(self.success_curve[SUCCESS_RATE_INDEX])

    def as_dict(self) -> dict[str, float | int]:
        return {"auc": self.auc, "precision": self.precision, "norm_precision": self.norm_precision,
                "success_rate": self.success_rate, "frames": self.n_frames}


def evaluate_sequence(pred: np.ndarray, gt: np.ndarray, invalid: InvalidMode = "matlab",
                      name: str = "") -> SequenceScore:
    """Score OTB-box predictions against ground truth with the official protocol (module docstring)."""
    if invalid not in INVALID_MODES:
        raise ValueError(f"invalid={invalid!r}: choose one of {', '.join(INVALID_MODES)}")
    p, g = _pair(pred, gt)
    p = protocol_boxes(p, g)
    return SequenceScore(
        name=name, n_frames=len(g), invalid=invalid,
        success_curve=success_curve(p, g, invalid=invalid, protocol=False),
        precision_curve=precision_curve(p, g, invalid=invalid, protocol=False),
        norm_precision_curve=normalized_precision_curve(p, g, invalid=invalid, protocol=False))


def mean_curve(curves: Iterable[np.ndarray], drop_zero: bool = True) -> tuple[np.ndarray, int]:
    """Mean of per-sequence curves as ``perfPlot.m`` forms it: rows summing to 0 are dropped first
    (``aa = aa(sum(aa,2) > eps, :)``). Returns ``(mean curve, number of rows averaged)``."""
    rows = [np.asarray(c, dtype=np.float64) for c in curves]
    if not rows:
        return np.zeros(0), 0
    aa = np.vstack(rows)
    if drop_zero:
        aa = aa[aa.sum(axis=1) > np.finfo(np.float64).eps]
    if len(aa) == 0:
        return np.zeros(len(rows[0])), 0
    return aa.mean(axis=0), len(aa)


@dataclass
class DatasetScore:
    """A tracker's scores over a set of sequences (the official toolkit's averaging)."""

    success_curve: np.ndarray
    precision_curve: np.ndarray
    norm_precision_curve: np.ndarray
    n_sequences: int
    n_dropped: int = 0
    per_sequence: dict[str, SequenceScore] = field(default_factory=dict)

    @property
    def auc(self) -> float:
        return auc(self.success_curve)

    @property
    def precision(self) -> float:
        return float(self.precision_curve[PRECISION_INDEX]) if self.precision_curve.size else 0.0

    @property
    def norm_precision(self) -> float:
        c = self.norm_precision_curve
        return float(c[NORM_PRECISION_INDEX]) if c.size else 0.0

    @property
    def success_rate(self) -> float:
        return float(self.success_curve[SUCCESS_RATE_INDEX]) if self.success_curve.size else 0.0


def aggregate(scores: Iterable[SequenceScore], drop_zero: bool = True) -> DatasetScore:
    """Average per-sequence scores the way ``perfPlot.m`` does (curve means, zero rows dropped;
    each plot drops its own zero rows). ``drop_zero=False`` keeps every sequence (pysot-toolkit)."""
    scores = list(scores)
    succ, n_s = mean_curve((s.success_curve for s in scores), drop_zero)
    prec, _ = mean_curve((s.precision_curve for s in scores), drop_zero)
    norm, _ = mean_curve((s.norm_precision_curve for s in scores), drop_zero)
    return DatasetScore(success_curve=succ, precision_curve=prec, norm_precision_curve=norm,
                        n_sequences=len(scores), n_dropped=len(scores) - n_s,
                        per_sequence={s.name: s for s in scores})
