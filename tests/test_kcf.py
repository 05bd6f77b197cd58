"""KCF (Henriques et al. TPAMI 2015): paper defaults, and it follows a moving textured target."""

import dataclasses

import numpy as np
import pytest

from regtrack.demo import synthetic_sequence
from regtrack.evaluation.metrics import center_errors
from regtrack.trackers.base import create_tracker, tracker_class


def _moving(n=30, step=(3.0, -2.0), size=(44.0, 36.0), start=(120.0, 140.0), seed=0):
    centers = np.array(start) + np.arange(n)[:, None] * np.array(step)
    return synthetic_sequence(centers, np.tile(size, (n, 1)), seed=seed)


def test_kcf_defaults_are_the_papers():
    p = tracker_class("kcf").Params()
    assert (p.padding, p.lam, p.output_sigma_factor, p.interp_factor) == (1.5, 1e-4, 0.1, 0.02)
    assert (p.kernel, p.kernel_sigma, p.feature, p.cell_size) == ("gaussian", 0.5, "hog", 4)


@pytest.mark.parametrize("overrides", [{}, {"kernel": "linear"}, {"subpixel": True},
                                       {"feature": "gray", "cell_size": 1, "kernel_sigma": 0.2,
                                        "interp_factor": 0.075}])
def test_kcf_follows_a_moving_target(overrides):
    frames, gt = _moving()
    tracker = create_tracker("kcf", overrides)
    tracker.init(frames[0], gt[0])
    boxes = np.array([gt[0]] + [tracker.update(f) for f in frames[1:]])
    err = center_errors(boxes, gt)
    assert err.max() < 4.5, err  # within about a cell all the way
    np.testing.assert_allclose(boxes[:, 2:], gt[:, 2:])  # KCF keeps the size


def test_kcf_large_target_is_tracked_at_half_resolution():
    frames, gt = _moving(n=12, size=(130.0, 100.0), start=(160.0, 130.0), step=(4.0, 2.0))
    tracker = create_tracker("kcf")
    tracker.init(frames[0], gt[0])
    assert tracker.factor == 2.0
    boxes = np.array([gt[0]] + [tracker.update(f) for f in frames[1:]])
    assert center_errors(boxes, gt).max() < 9


def test_kcf_params_are_a_dataclass_with_overrides():
    t = create_tracker("kcf", {"padding": 2.0})
    assert t.params.padding == 2.0 and dataclasses.is_dataclass(t.params)
    assert t.params_dict()["lam"] == 1e-4


def test_model_window_rules():
    from regtrack.core.labels import model_window

    window, factor = model_window(np.array([40.0, 30.0]), 1.5, 4, 100.0)
    assert factor == 1.0 and list(window) == [100, 75]  # floor(target * 2.5)
    window, factor = model_window(np.array([120.0, 100.0]), 1.5, 4, 100.0)
    assert factor == 2.0 and list(window) == [150, 125]  # sqrt(w h) >= 100: half resolution
    window, factor = model_window(np.array([4.0, 3.0]), 1.5, 4, 100.0, min_cells=4)
    assert factor < 1.0 and window.min() >= 16  # a tiny target is upsampled to 4 cells
    window, factor = model_window(np.array([200.0, 200.0]), 1.0, 1, None, max_area=100.0**2)
    assert factor == 4.0 and list(window) == [100, 100]
