"""The OTB metrics against hand-computed values and the MATLAB toolkit's rules (reference.md §2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from regtrack.evaluation.metrics import (
    SequenceScore,
    aggregate,
    auc,
    center_errors,
    evaluate_sequence,
    mean_curve,
    normalized_precision_curve,
    overlap_ratios,
    precision_curve,
    protocol_boxes,
    success_curve,
)


def test_overlap_and_invalid_gt():
    gt = np.array([[1, 1, 10, 10], [1, 1, 10, 10], [0, 0, 0, 0], [np.nan] * 4, [5, -1, 4, 4]], float)
    pred = np.array([[1, 1, 10, 10], [6, 1, 10, 10], [1, 1, 10, 10], [1, 1, 2, 2], [5, 1, 4, 4]], float)
    iou = overlap_ratios(pred, gt)
    assert iou[0] == 1.0
    assert iou[1] == pytest.approx(50 / 150)  # continuous = calcRectInt's +1 pixel convention
    assert list(iou[2:]) == [-1, -1, -1]  # invalid ground truth (any value <= 0 or NaN)


def test_center_error_convention_and_invalid_modes():
    gt = np.array([[1, 1, 10, 10], [0, 0, 0, 0]], float)
    pred = np.array([[4, 5, 10, 10], [1, 1, 1, 1]], float)
    assert center_errors(pred, gt)[0] == pytest.approx(5.0)
    assert center_errors(pred, gt)[1] == -1  # MATLAB: passes every precision threshold
    assert center_errors(pred, gt, "pytracking")[1] == np.inf  # pytracking: fails
    # centre = x + (w-1)/2: a 1-px box at x=5 and a 3-px box at x=4 share a centre
    assert center_errors([[5, 5, 1, 1]], [[4, 4, 3, 3]])[0] == 0


def test_success_is_strictly_greater_and_denominator_keeps_invalid():
    gt = np.array([[1, 1, 10, 10]] * 3 + [[0, 0, 0, 0]], float)
    pred = np.array([[1, 1, 10, 10], [1, 1, 10, 10], [1, 1, 10, 20], [1, 1, 10, 10]], float)  # iou 1, 1, .5
    s = success_curve(pred, gt)
    assert s.shape == (21,)
    assert s[10] == pytest.approx(2 / 4)  # IoU 0.5 is not > 0.5; invalid frame stays in the denominator
    assert s[9] == pytest.approx(3 / 4)
    assert s[20] == 0  # nothing is > 1
    p = precision_curve(pred, gt)
    assert p.shape == (51,) and p[0] == pytest.approx(3 / 4)  # frame 3 is 4.5 px off; invalid passes
    assert precision_curve(pred, gt, invalid="pytracking")[0] == pytest.approx(2 / 4)
    assert precision_curve(pred, gt, invalid="exclude")[0] == pytest.approx(2 / 3)
    assert normalized_precision_curve(pred, gt).shape == (51,)


def test_first_frame_is_ground_truth_and_bad_boxes_keep_previous():
    gt = np.array([[10, 10, 20, 20]] * 4, float)
    pred = np.array([[0, 0, 1, 1], [11, 10, 20, 20], [5, 5, 0, 7], [np.nan] * 4], float)
    p = protocol_boxes(pred, gt)
    assert p[0].tolist() == gt[0].tolist()
    assert p[2].tolist() == p[1].tolist() == p[3].tolist()  # w <= 0 and all-NaN: previous box
    sc = evaluate_sequence(pred, gt, name="x")
    assert sc.success_curve[0] == 1.0 and sc.precision == 1.0


def test_auc_is_21_point_mean():
    curve = np.linspace(1, 0, 21)
    assert auc(curve) == pytest.approx(0.5)
    assert auc(np.ones(21)) == 1.0


def test_dataset_mean_drops_zero_rows_like_perfplot():
    z = np.zeros(21)
    o = np.full(21, 0.5)
    m, n = mean_curve([z, o, o])
    assert n == 2 and m[0] == 0.5
    m, n = mean_curve([z, o, o], drop_zero=False)
    assert n == 3 and m[0] == pytest.approx(1 / 3)
    s = [SequenceScore("a", 3, z, np.zeros(51), np.zeros(51)),
         SequenceScore("b", 3, o, np.ones(51), np.ones(51))]
    agg = aggregate(s)
    assert agg.auc == 0.5 and agg.precision == 1.0 and agg.n_dropped == 1 and agg.n_sequences == 2


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="align"):
        overlap_ratios(np.zeros((3, 4)), np.zeros((4, 4)))
