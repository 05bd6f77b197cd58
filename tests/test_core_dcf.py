"""The Fourier-domain correlation filter: each formula pinned on small inputs."""

import numpy as np
import pytest
import torch

from regtrack.core import dcf, labels


def _shifted(shift=(3, -5), shape=(3, 32, 32), seed=0):
    x = np.random.default_rng(seed).random(shape).astype(np.float32)
    return x, np.roll(x, shift, axis=(-2, -1))


@pytest.mark.parametrize("kernel", ["linear", "gaussian"])
def test_kernel_filter_finds_the_shift(kernel):
    x, z = _shifted()
    y = labels.gaussian_label(32, 32, 2.0)
    xf, zf = dcf.fft2(x), dcf.fft2(z)
    if kernel == "linear":
        kxx, kxz = dcf.linear_kernel(xf, xf, x.size), dcf.linear_kernel(xf, zf, x.size)
    else:
        kxx, kxz = dcf.gaussian_kernel(x, x, xf, xf, 0.5), dcf.gaussian_kernel(x, z, xf, zf, 0.5)
    alphaf = dcf.solve_alpha(kxx, dcf.fft2(y), 1e-4)
    dy, dx, peak = dcf.peak_offset(dcf.kernel_response(alphaf, kxz, (32, 32)))
    assert (dy, dx) == pytest.approx((3, -5), abs=0.05)
    assert peak > 0.9


def test_ridge_filter_finds_the_shift_and_matches_kernel_form_for_one_frame():
    x, z = _shifted((-4, 6))
    y = labels.gaussian_label(32, 32, 2.0)
    xf, zf, yf = dcf.fft2(x), dcf.fft2(z), dcf.fft2(y)
    ridge = dcf.ridge_response(dcf.ridge_numerator(xf, yf), dcf.ridge_denominator(xf), zf, 1e-3, (32, 32))
    kernel = dcf.kernel_response(dcf.solve_alpha(dcf.linear_kernel(xf, xf), yf, 1e-3),
                                 dcf.linear_kernel(xf, zf), (32, 32))
    np.testing.assert_allclose(ridge, kernel, atol=1e-4)
    assert dcf.peak_offset(ridge)[:2] == pytest.approx((-4, 6), abs=0.05)


def test_torch_and_numpy_give_the_same_response_and_torch_has_gradients():
    x, z = _shifted()
    y = labels.gaussian_label(32, 32, 2.0)
    xt = torch.tensor(x, requires_grad=True)
    r_t = dcf.kernel_response(dcf.solve_alpha(dcf.linear_kernel(dcf.fft2(xt), dcf.fft2(xt)),
                                              dcf.fft2(torch.tensor(y)), 1e-4),
                              dcf.linear_kernel(dcf.fft2(xt), dcf.fft2(torch.tensor(z))), (32, 32))
    r_n = dcf.kernel_response(dcf.solve_alpha(dcf.linear_kernel(dcf.fft2(x), dcf.fft2(x)), dcf.fft2(y), 1e-4),
                              dcf.linear_kernel(dcf.fft2(x), dcf.fft2(z)), (32, 32))
    np.testing.assert_allclose(r_t.detach().numpy(), r_n, atol=1e-4)
    r_t.max().backward()
    assert xt.grad is not None and torch.isfinite(xt.grad).all() and xt.grad.abs().sum() > 0


def test_subpixel_peak_recovers_a_fractional_shift():
    # a Gaussian bump centred at (2.3, -1.6) on a wrapped 31x31 grid
    dy, dx = labels.wrapped_offsets(31)[:, None], labels.wrapped_offsets(31)[None, :]
    resp = np.exp(-((dy - 2.3) ** 2 + (dx + 1.6) ** 2) / (2 * 1.5**2))
    py, px, _ = dcf.peak_offset(resp)
    assert abs(py - 2.3) < 0.1 and abs(px + 1.6) < 0.1
    assert dcf.peak_offset(resp, subpixel=False)[:2] == (2.0, -2.0)


def test_labels_peak_where_they_should():
    g = labels.gaussian_label(9, 12, 1.5)
    assert np.unravel_index(g.argmax(), g.shape) == (0, 0)
    assert g[1, 0] == pytest.approx(g[-1, 0])  # symmetric under wrap
    c = labels.gaussian_label(9, 12, 1.5, peak="center")
    assert np.unravel_index(c.argmax(), c.shape) == (4, 6)
    w = labels.hann_window(5, 7)
    assert w[0, 0] == 0 and w[2, 3] == pytest.approx(1.0)


def test_interpolate():
    assert dcf.interpolate(np.ones(3), np.zeros(3), 0.25) == pytest.approx(0.75 * np.ones(3))


def test_update_model_takes_the_first_frame_then_blends_every_array():
    first = (np.ones(2), np.full(3, 2.0))
    assert dcf.update_model(None, first, 0.1) is first
    blended = dcf.update_model(first, (np.zeros(2), np.zeros(3)), 0.25)
    assert blended[0] == pytest.approx(0.75 * np.ones(2)) and blended[1] == pytest.approx(np.full(3, 1.5))
    with pytest.raises(ValueError):
        dcf.update_model(first, (np.zeros(2),), 0.5)
