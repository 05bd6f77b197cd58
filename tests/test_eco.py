"""The ECO framework (regtrack.core.eco) on small problems with known answers, and eco_hc on a
synthetic target."""

import numpy as np
import pytest
from scipy.integrate import quad

from regtrack.core.eco import cg, fourier, projection, regularization
from regtrack.core.eco.detection import maximise_scores
from regtrack.core.eco.fdsst import interp_dft
from regtrack.core.eco.sample_space import SampleSpace


# -- interpolation kernel (C-COT eq. 3-4) ----------------------------------------------------
@pytest.mark.parametrize("f", [0.0, 0.13, 0.37, 0.5, 1.2, 2.7])
def test_cubic_kernel_fourier_is_the_kernels_transform(f):
    # B(f) = 2 int_0^2 b(x) cos(2 pi f x) dx, integrated numerically
    num = 2 * sum(quad(lambda x: fourier.cubic_kernel(x) * np.cos(2 * np.pi * f * x), a, a + 1)[0]
                  for a in (0, 1))
    assert fourier.cubic_kernel_fourier(np.array([f]))[0] == pytest.approx(num, abs=1e-9)


def test_cubic_kernel_interpolates():
    # b(0) = 1, b(n) = 0: partition of unity, so B(0) = 1 and B(k) = 0 at the other integers
    assert fourier.cubic_kernel(np.array([0.0, 1.0, -1.0, 2.0]))[0] == 1.0
    assert np.allclose(fourier.cubic_kernel_fourier(np.array([1.0, -1.0, 2.0, 3.0])), 0, atol=1e-12)
    c = fourier.interpolation_coefficients(7)
    assert c[3] == pytest.approx(1 / 7) and np.allclose(c, c[::-1])  # B(0)/N at the centre, even


def test_gaussian_label_coefficients_sample_the_gaussian():
    sigma, n = 0.06, 41
    label = fourier.sample_grid(fourier.gaussian_label_fourier(n, n, sigma))
    t = np.fft.fftfreq(n)  # grid positions in periods, index 0 = t 0
    expect = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma**2))
    assert np.abs(label - expect).max() < 1e-4


def test_newton_finds_the_sub_cell_peak():
    sf = fourier.shift_spectrum(fourier.gaussian_label_fourier(31, 31, 0.08), (-0.0123, 0.0371))
    ty, tx, score = maximise_scores(sf, 5)
    # x(t + s) peaks at t = -s
    assert (ty, tx) == (pytest.approx(0.0123, abs=1e-6), pytest.approx(-0.0371, abs=1e-6))
    assert score == pytest.approx(1.0, abs=1e-3)


def test_newton_never_ends_below_the_grid_maximum():
    # random smooth responses: from a grid point outside Newton's basin the step can jump far
    # away to a lower score; ECO (optimize_scores.m) then keeps the grid maximum
    rng = np.random.default_rng(0)
    n = 25
    k = fourier.frequencies(n)
    envelope = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * 6.0**2))
    improved = 0
    for _ in range(200):
        sf = fourier.cfft2(rng.standard_normal((n, n))) * envelope
        grid_max = fourier.sample_grid(sf).max()
        _, _, score = maximise_scores(sf, 5)
        assert score >= grid_max - 1e-9
        improved += score > grid_max + 1e-6
    assert improved > 150  # Newton still refines almost every peak


# -- conjugate gradient ------------------------------------------------------------------------
def test_pcg_solves_a_small_spd_system():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    a = a @ a.T + 6 * np.eye(6)
    x_true = rng.standard_normal(6)
    b = a @ x_true
    apply = lambda v: [a @ v[0]]  # noqa: E731
    x, norms = cg.pcg(apply, [b], [np.zeros(6)], n_iter=6, precond=[np.diag(a).copy()])
    assert np.allclose(x[0], x_true, atol=1e-8)  # n iterations solve an n x n system
    assert norms[-1] < 1e-8 * np.linalg.norm(b)
    x_warm, norms = cg.pcg(apply, [b], [x_true], n_iter=3)  # warm start at the answer: nothing to do
    assert np.allclose(x_warm[0], x_true) and len(norms) == 0


# -- projection: Gauss-Newton (ECO eq. 10-11) ---------------------------------------------------
def _small_problem(seed=1):
    rng = np.random.default_rng(seed)
    c, d, n = 4, 2, 5
    x = rng.standard_normal((c, n, n)).astype(np.float32)
    xf = [fourier.to_continuous(fourier.cfft2(x)).astype(np.complex64)]
    p_true = np.linalg.qr(rng.standard_normal((c, d)))[0].astype(np.float32)
    f_true = fourier.cfft2(rng.standard_normal((d, n, n)).astype(np.float32)).astype(np.complex64)
    y = np.einsum("dnm,dnm->nm", projection.project(xf[0], p_true), f_true)
    return x, xf, p_true, f_true, y


def test_gauss_newton_normal_equations_are_symmetric_and_solved_by_cg():
    _, xf, p_true, f_true, y = _small_problem()
    rng = np.random.default_rng(2)
    p0 = [p_true + 0.1 * rng.standard_normal(p_true.shape).astype(np.float32)]
    f0 = [f_true * 0.9]
    reg = [np.array([[0.01]], np.float32)]
    apply, rhs_fn, _ = projection.gauss_newton_operators(xf, p0, f0, 1e-3, reg, y.shape)

    def rand():
        re, im = rng.standard_normal(f_true.shape), rng.standard_normal(f_true.shape)
        return [(re + 1j * im).astype(np.complex64),
                rng.standard_normal(p_true.shape).astype(np.float32)]

    u, v = rand(), rand()
    assert cg.inner(u, apply(v)) == pytest.approx(cg.inner(apply(u), v), rel=1e-4)  # self-adjoint
    # dense solve of the same (real) linear system, then CG to convergence agrees with it
    shapes = [f_true.shape, p_true.shape]
    sizes = [2 * f_true.size, p_true.size]

    def to_vec(w):
        return np.concatenate([w[0].real.ravel(), w[0].imag.ravel(), w[1].ravel()]).astype(np.float64)

    def from_vec(vec):
        m = f_true.size
        f = (vec[:m] + 1j * vec[m:2 * m]).reshape(shapes[0]).astype(np.complex64)
        return [f, vec[2 * m:].reshape(shapes[1]).astype(np.float32)]

    dim = sum(sizes)
    mat = np.stack([to_vec(apply(from_vec(e))) for e in np.eye(dim)], axis=1)
    rhs = rhs_fn(y)
    dense = np.linalg.lstsq(mat, to_vec(rhs), rcond=None)[0]
    sol, _ = cg.pcg(apply, rhs, [f0[0], np.zeros_like(p_true)], n_iter=400, tol=1e-7)
    assert np.allclose(to_vec(apply(sol)), to_vec(rhs), atol=1e-3 * np.abs(to_vec(rhs)).max())
    assert np.allclose(to_vec(apply(from_vec(dense))), to_vec(rhs), atol=1e-3 * np.abs(to_vec(rhs)).max())


def test_gauss_newton_fits_a_realisable_target():
    x, xf, p_true, f_true, y = _small_problem()
    p0 = [projection.pca_projection(x, 2)]
    reg = [np.array([[1e-4]], np.float32)]
    precond = [np.ones(f_true.shape, np.float32)]
    hf, p, norms = projection.train_joint(xf, p0, [np.zeros_like(f_true)], y, reg, 1e-6, 8, 30, precond,
                                          1.0, y.shape)
    fit = np.einsum("dnm,dnm->nm", projection.project(xf[0], p[0]), hf[0])
    start = np.linalg.norm(y)
    assert np.linalg.norm(fit - y) < 0.02 * start  # P and f found together
    assert p[0].shape == (4, 2)


def test_pca_projection_keeps_the_main_directions():
    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.standard_normal((5, 2)))[0]
    maps = (basis @ rng.standard_normal((2, 64)) * [[3.0], [1.0]][0][0]).reshape(5, 8, 8)
    p = projection.pca_projection(maps.astype(np.float32), 2)
    # the projection spans the same plane as the data
    assert np.allclose(np.abs(np.linalg.svd(basis.T @ p)[1]), 1, atol=1e-4)


# -- spatial regularisation ----------------------------------------------------------------
def test_reg_window_filter_is_small_symmetric_and_positive():
    reg = regularization.reg_window_filter(201, np.array([40.0, 30.0]))
    assert reg.shape[0] % 2 == 1 and reg.shape[0] < 15
    assert np.allclose(reg, reg[::-1, ::-1])
    f = np.zeros((1, 9, 9), np.complex64)
    f[0, 4, 4] = 1  # a constant filter: the penalty is the window's mean square times ||f||^2
    assert cg.inner([f], [regularization.apply_reg(f, reg)]) > 0


# -- sample space (ECO sec. 3.2) -------------------------------------------------------------
def test_sample_space_merges_the_closest_samples():
    space = SampleSpace(3, learning_rate=0.5, min_weight=0.0)
    a, b, c = (np.full(4, v, np.complex64) for v in (0.0, 10.0, 20.0))
    for s in (a, b, c):
        space.add([s])
    assert np.allclose(space.weights, [0.25, 0.25, 0.5])  # (1 - lr) decay, lr for the newest
    # close to a (distance 1) and a's neighbours are 100 apart: merged into a
    slot, merged = space.add([np.full(4, 1.0, np.complex64)])
    assert slot == merged == 0
    assert np.allclose(space.samples[0][0], 0.125 * 0 / 0.625 + 0.5 * 1 / 0.625)  # weighted mean
    assert space.weights == pytest.approx([0.625, 0.125, 0.25])
    # far from all: the two closest (b at 10, merged a at 0.8) merge, the new one takes a slot
    slot, merged = space.add([np.full(4, 100.0, np.complex64)])
    assert merged == 0 and slot == 1
    assert np.allclose(space.samples[0][1], 100.0)
    wa, wb = 0.625 * 0.5, 0.125 * 0.5
    assert np.allclose(space.samples[0][0], (wa * 0.8 + wb * 10.0) / (wa + wb))
    assert space.weights.sum() == pytest.approx(1.0) and space.weights[1] == pytest.approx(0.5)
    d = space.distances()
    assert d[0, 2] == pytest.approx(4 * ((wa * 0.8 + wb * 10.0) / (wa + wb) - 20.0) ** 2, rel=1e-5)


def test_sample_space_replaces_a_forgotten_sample():
    space = SampleSpace(3, learning_rate=0.5, min_weight=0.2)
    for v in (0.0, 10.0, 20.0, 1.0):  # the 4th merges into the first: weights 0.625, 0.125, 0.25
        space.add([np.full(2, v, np.complex64)])
    slot, merged = space.add([np.full(2, 50.0, np.complex64)])  # 0.125 < 0.2: replaced outright
    assert (slot, merged) == (1, None) and np.allclose(space.samples[0][1], 50.0)
    assert space.weights == pytest.approx([0.625 * 0.5 / 0.875, 0.5, 0.25 * 0.5 / 0.875])


def test_sample_space_gram_matrix_stays_exact_under_merging():
    # merged components get their Gram rows from their parts' rows (no pass over the store):
    # after many merges of both kinds the matrix is still the samples' inner products
    rng = np.random.default_rng(5)
    metric = [np.array([2.0, 2.0, 1.0], np.float32)]
    space = SampleSpace(6, learning_rate=0.2, metric=metric)
    kinds = set()
    for _ in range(60):
        sample = [(rng.standard_normal((2, 4, 3)) + 1j * rng.standard_normal((2, 4, 3))).astype(np.complex64)]
        slot, merged = space.add(sample)
        kinds.add("new" if merged is None else "into" if slot == merged else "pair")
    stored = space.samples[0].reshape(6, -1)
    weighted = (space.samples[0] * metric[0]).reshape(6, -1)
    exact = (stored.conj() @ weighted.T).real
    assert np.allclose(space.gram, exact, rtol=1e-4, atol=1e-3)
    assert {"into", "pair"} <= kinds


# -- fDSST -------------------------------------------------------------------------------------
def test_interp_dft_resamples_a_trigonometric_polynomial():
    n, m = 17, 33
    t = np.arange(n) / n
    sig = np.cos(2 * np.pi * 3 * t) + 0.5 * np.sin(2 * np.pi * 5 * t)
    dense = np.fft.ifft(interp_dft(np.fft.fft(sig), m)).real
    tm = np.arange(m) / m
    assert np.allclose(dense, np.cos(2 * np.pi * 3 * tm) + 0.5 * np.sin(2 * np.pi * 5 * tm), atol=1e-10)


# -- eco_hc ----------------------------------------------------------------------------------------
def test_eco_hc_follows_translation_and_scale(shared, monkeypatch):
    from regtrack.demo import synthetic_sequence
    from regtrack.evaluation.metrics import center_errors, overlap_ratios
    from regtrack.trackers.base import create_tracker

    monkeypatch.setenv("REGTRACK_COLORNAMES", str(shared / "data" / "features" / "w2crs.mat"))
    n = 25
    centers = np.array([150.0, 120.0]) + np.arange(n)[:, None] * np.array([2.5, -1.0])
    sizes = np.array([40.0, 32.0]) * (1.012 ** np.arange(n))[:, None]
    frames, gt = synthetic_sequence(centers, sizes)
    tracker = create_tracker("eco_hc")
    tracker.init(frames[0], gt[0])
    boxes = np.array([gt[0]] + [tracker.update(f) for f in frames[1:]])
    assert center_errors(boxes, gt).max() < 4
    assert overlap_ratios(boxes, gt)[-5:].min() > 0.75
    assert boxes[-1, 2] / boxes[0, 2] > 1.12


def test_half_spectrum_holds_the_whole_one():
    rng = np.random.default_rng(4)
    a, b = (fourier.cfft2(rng.standard_normal((2, 7, 9)).astype(np.float32)) for _ in range(2))
    ha, hb = fourier.half(a), fourier.half(b)
    assert ha.shape == (2, 7, 5) and np.allclose(fourier.full(ha), a, atol=1e-5)
    weighted = np.sum(fourier.half_metric(ha) * (ha.conj() * hb).real)
    assert weighted == pytest.approx(np.vdot(a, b).real, rel=1e-5)
    shifted = fourier.shift_spectrum(ha, (0.1, -0.2), half=True)
    assert np.allclose(shifted, fourier.half(fourier.shift_spectrum(a, (0.1, -0.2))), atol=1e-4)


def _synthetic(n=12):
    from regtrack.demo import synthetic_sequence

    centers = np.array([150.0, 120.0]) + np.arange(n)[:, None] * np.array([2.5, -1.0])
    sizes = np.array([40.0, 32.0]) * np.ones((n, 1))
    return synthetic_sequence(centers, sizes)


def test_udtplus_tracks_with_regtracks_own_weights():
    from regtrack.evaluation.metrics import center_errors
    from regtrack.trackers.base import create_tracker

    frames, gt = _synthetic()
    # a smaller sample than UDT+'s 150-200 px keeps the test quick; the rest is UDT+'s
    tracker = create_tracker("udtplus", {"min_sample_size": 90.0**2, "max_sample_size": 110.0**2})
    tracker.init(frames[0], gt[0])
    boxes = np.array([gt[0]] + [tracker.update(f) for f in frames[1:]])
    assert center_errors(boxes, gt).max() < 4
    assert tracker.params.features == "udt" and tracker.eco.blocks[0].compressed_dim == 32


def test_eco_features_are_a_parameter():
    from regtrack.errors import RegtrackError
    from regtrack.trackers.base import create_tracker, parse_overrides

    frames, gt = _synthetic(4)
    tracker = create_tracker("eco_hc", parse_overrides("eco_hc", ["features=fhog"]))
    tracker.init(frames[0], gt[0])
    assert [b.name for b in tracker.eco.blocks] == ["fhog"]
    with pytest.raises(RegtrackError, match="features"):
        create_tracker("eco_hc", {"features": "fhog,sift"}).init(frames[0], gt[0])


@pytest.mark.parametrize("sampling", ["pixel_grid", "subpixel"])
def test_a_still_target_off_the_pixel_grid_stays_put(shared, monkeypatch, sampling):
    # pixel_grid samples at the rounded centre: the first sample is shifted onto the target and
    # each displacement is measured from the rounded centre, so no half-pixel bias creeps in
    from regtrack.demo import synthetic_sequence
    from regtrack.evaluation.metrics import center_errors
    from regtrack.trackers.base import create_tracker

    monkeypatch.setenv("REGTRACK_COLORNAMES", str(shared / "data" / "features" / "w2crs.mat"))
    centers = np.tile([150.4, 120.4], (6, 1))
    frames, gt = synthetic_sequence(centers, np.tile([40.0, 32.0], (6, 1)))
    tracker = create_tracker("eco_hc", {"sampling": sampling})
    tracker.init(frames[0], gt[0])
    boxes = np.array([gt[0]] + [tracker.update(f) for f in frames[1:]])
    assert center_errors(boxes, gt).max() < 0.25


def test_filter_kernels_are_compiled_at_import_and_take_any_layout():
    """The channel sums are compiled when the module loads (a first detection once stalled ~370 ms
    compiling them) and give the direct sums for strided (non-contiguous) inputs too."""
    from regtrack.core.eco import filter as eco_filter

    assert eco_filter._channel_sum.signatures and eco_filter._adjoint_sum.signatures
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((3, 4, 6, 10)) + 1j * rng.standard_normal((3, 4, 6, 10))).astype(np.complex64)
    f = (rng.standard_normal((4, 6, 5)) + 1j * rng.standard_normal((4, 6, 5))).astype(np.complex64)
    z_strided = z[..., ::2]  # [3, 4, 6, 5], not contiguous
    got = eco_filter.scores([f], [z_strided], (6, 5))
    assert np.allclose(got, np.einsum("jdyx,dyx->jyx", z_strided, f), atol=1e-4)
    y = (rng.standard_normal((6, 5)) + 0j).astype(np.complex64)
    rhs = eco_filter.right_hand_side([z_strided], np.array([0.5, 0.3, 0.2]), [y])[0]
    expect = np.einsum("j,jdyx,yx->dyx", np.array([0.5, 0.3, 0.2]), np.conj(z_strided), y)
    assert np.allclose(rhs, expect, atol=1e-4)
    assert len(eco_filter._channel_sum.signatures) == 1  # no second compile for another layout


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 4])
def test_normal_equations_data_term_sums_over_blocks_of_several_resolutions(n_blocks):
    """``A^H Gamma A f`` (C-COT eq. 11) sample by sample (the fused kernel, 1-3 blocks) and in two
    passes (4 blocks) both equal the direct sums, with blocks of different sizes adding up on the
    largest grid (ECO's output size) and the regularisation term off."""
    from regtrack.core.eco import filter as eco_filter
    from regtrack.core.eco.fourier import embed

    rng = np.random.default_rng(n_blocks)
    sizes = [(9, 9), (7, 5), (9, 7), (5, 3)][:n_blocks]
    out_shape = (9, 9)
    samples = [(rng.standard_normal((4, 3, *sz)) + 1j * rng.standard_normal((4, 3, *sz))).astype(np.complex64)
               for sz in sizes]
    hf = [(rng.standard_normal((3, *sz)) + 1j * rng.standard_normal((3, *sz))).astype(np.complex64)
          for sz in sizes]
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    no_reg = [np.zeros((1, 1), np.float32) for _ in sizes]
    got = eco_filter.normal_equations(samples, weights, no_reg, out_shape)(hf)
    total = np.zeros((4, *out_shape), np.complex128)
    for z, f in zip(samples, hf, strict=True):
        ys, xs = embed(f, out_shape)
        total[:, ys, xs] += np.einsum("jdyx,dyx->jyx", z, f)
    for z, f, g in zip(samples, hf, got, strict=True):
        ys, xs = embed(f, out_shape)
        expect = np.einsum("j,jdyx,jyx->dyx", weights, np.conj(z), total[:, ys, xs])
        assert np.allclose(g, expect, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("tracker_name", ["eco_hc", "udtplus"])
@pytest.mark.parametrize("scale_sampling", ["pixel_grid", "subpixel"])
def test_the_scale_filter_follows_a_growing_target(shared, monkeypatch, tracker_name, scale_sampling):
    from regtrack.demo import synthetic_sequence
    from regtrack.trackers.base import create_tracker

    monkeypatch.setenv("REGTRACK_COLORNAMES", str(shared / "data" / "features" / "w2crs.mat"))
    n = 12
    sizes = np.array([40.0, 32.0]) * (1.02 ** np.arange(n))[:, None]  # +2 % a frame, 1.24x at the end
    frames, gt = synthetic_sequence(np.tile([150.4, 120.4], (n, 1)), sizes)
    tracker = create_tracker(tracker_name, {"scale_sampling": scale_sampling})
    tracker.init(frames[0], gt[0])
    boxes = [tracker.update(f) for f in frames[1:]]
    assert boxes[-1][2] / gt[-1][2] == pytest.approx(1.0, abs=0.06)
