"""DSST (Danelljan et al. BMVC 2014): paper defaults, translation and scale on a target that
moves and grows."""

import numpy as np

from regtrack.demo import synthetic_sequence
from regtrack.evaluation.metrics import center_errors, overlap_ratios
from regtrack.trackers.base import create_tracker, tracker_class


def test_dsst_defaults_are_the_papers():
    p = tracker_class("dsst").Params()
    assert (p.padding, p.output_sigma_factor, p.lam, p.learning_rate) == (1.0, 1 / 16, 1e-2, 0.025)
    assert (p.n_scales, p.scale_step, p.scale_sigma_factor, p.scale_model_max_area) == (33, 1.02, 0.25, 512)


def test_dsst_follows_translation_and_scale():
    n = 25
    centers = np.array([150.0, 120.0]) + np.arange(n)[:, None] * np.array([2.5, -1.0])
    sizes = np.array([40.0, 32.0]) * (1.012 ** np.arange(n))[:, None]  # grows 33 % in all
    frames, gt = synthetic_sequence(centers, sizes)
    tracker = create_tracker("dsst")
    tracker.init(frames[0], gt[0])
    boxes = np.array([gt[0]] + [tracker.update(f) for f in frames[1:]])
    assert center_errors(boxes, gt).max() < 4
    assert overlap_ratios(boxes, gt)[-5:].min() > 0.8
    assert boxes[-1, 2] / boxes[0, 2] > 1.15  # the scale filter followed the growth
