"""Training the continuous filter on the sample space (C-COT eq. 9-12, ECO eq. 7 and sec. 4.3).

With projected samples ``z_j`` (Fourier coefficients of their continuous interpolations, one
array ``[J, D, N, M]`` per feature block), weights ``alpha_j`` and the label ``y``, the filter
``f`` minimises (C-COT eq. 9 with ECO's factorised samples)

    E(f) = sum_j alpha_j || sum_blocks sum_d z_jd f_d - y ||^2 + sum_d || w f_d ||^2,

whose normal equations (C-COT eq. 11) ``(A^H Gamma A + W^H W) f = A^H Gamma y`` are solved by
preconditioned conjugate gradient (:mod:`.cg`), warm-started from the current filter. Blocks of
different resolutions add up on the largest one's frequency grid (``out_shape``); each block's
filter has its own block's frequencies only. With ``half``, every spectrum is a half spectrum
(:func:`~regtrack.core.eco.fourier.half`; ``out_shape`` too) and inner products weigh its columns
(:func:`~regtrack.core.eco.fourier.half_metric`), as ECO's code does: the same solution at half
the cost.
"""

from __future__ import annotations

import numba
import numpy as np

from regtrack.core.eco import cg
from regtrack.core.eco.fourier import embed, full, half_metric
from regtrack.core.eco.regularization import apply_reg


def scores(hf: list[np.ndarray], samples: list[np.ndarray], out_shape: tuple[int, int],
           half: bool = False) -> np.ndarray:
    """``sum_blocks sum_d z_d f_d`` on the output frequency grid: the detection scores' Fourier
    coefficients (C-COT eq. 2 / ECO eq. 3). ``samples[k]`` is ``[J, D, N, M]`` (or ``[D, N, M]``);
    returns ``[J, No, Mo]`` (or ``[No, Mo]``)."""
    single = samples[0].ndim == 3
    out = np.zeros((samples[0].shape[0] if not single else 1,) + tuple(out_shape), np.complex64)
    for f, z in zip(hf, samples, strict=True):
        ys, xs = embed(f, out_shape, half)
        z4 = z[None] if single else z
        out[:, ys, xs] += _channel_sum(_rows(z4), _rows(f)).reshape(z4.shape[0], *f.shape[-2:])
    return out[0] if single else out


def _rows(x: np.ndarray) -> np.ndarray:
    """``x`` with its last two axes flattened, C-contiguous complex64: the one layout the channel
    sums are compiled for (a no-op view for the contiguous samples ECO stores)."""
    return np.ascontiguousarray(x.reshape(*x.shape[:-2], -1), np.complex64)


# Eager signatures: compiled (or loaded from numba's cache) at import, not at the first
# detection, where the first compile stalled a frame for ~370 ms (bench_eco.py's slowest frame).
# The callers pass their arrays through _rows.
_SUM_SIGNATURE = "complex64[:, ::1](complex64[:, :, ::1], complex64[:, ::1])"


@numba.njit(_SUM_SIGNATURE, cache=True, nogil=True, fastmath=True)
def _channel_sum(z: np.ndarray, f: np.ndarray) -> np.ndarray:  # pragma: no cover - jit
    """``out[j, p] = sum_d z[j, d, p] f[d, p]`` (complex64), one pass without temporaries."""
    n_j, n_d, n_p = z.shape
    out = np.zeros((n_j, n_p), np.complex64)
    for j in range(n_j):
        for d in range(n_d):
            for p in range(n_p):
                out[j, p] += z[j, d, p] * f[d, p]
    return out


@numba.njit(_SUM_SIGNATURE, cache=True, nogil=True, fastmath=True)
def _adjoint_sum(z: np.ndarray, s: np.ndarray) -> np.ndarray:  # pragma: no cover - jit
    """``out[d, p] = sum_j conj(z[j, d, p]) s[j, p]`` (complex64), one pass."""
    n_j, n_d, n_p = z.shape
    out = np.zeros((n_d, n_p), np.complex64)
    for j in range(n_j):
        for d in range(n_d):
            for p in range(n_p):
                out[d, p] += np.conj(z[j, d, p]) * s[j, p]
    return out


def _gram_signature(n_blocks: int) -> numba.core.typing.templates.Signature:
    """``_gram_data_term``'s signature for ``n_blocks`` feature blocks (homogeneous tuples)."""
    t = numba.types
    return t.void(t.UniTuple(t.complex64[:, :, ::1], n_blocks), t.UniTuple(t.complex64[:, ::1], n_blocks),
                  t.UniTuple(t.int64[::1], n_blocks), t.float32[::1], t.int64,
                  t.UniTuple(t.complex64[:, ::1], n_blocks))


# Compiled at import for 1-3 blocks (udt, fhog, cn): a first training must not stall a frame.
@numba.njit([_gram_signature(k) for k in (1, 2, 3)], cache=True, nogil=True, fastmath=True)
def _gram_data_term(zs, fs, out_index, w, n_out, outs) -> None:  # noqa: ANN001 # pragma: no cover - jit
    """``outs[k] += sum_j w_j conj(z_kj) s_j`` with ``s_j = sum_k' sum_d z_k'jd f_k'd`` on the output
    grid (``out_index[k]``: each of block ``k``'s frequencies' flat index there): C-COT eq. 11's
    data term, sample by sample, so that a sample's coefficients are read from memory once and
    reused from the cache (the two-pass form, :func:`scores` then the adjoint over all samples,
    streams the whole sample space twice and is memory-bound)."""
    n_blocks = len(zs)
    s = np.zeros(n_out, np.complex64)
    for j in range(w.shape[0]):
        s[:] = 0
        for k in range(n_blocks):
            z, f, idx = zs[k], fs[k], out_index[k]
            n_d, n_p = f.shape
            acc = np.zeros(n_p, np.complex64)
            for d in range(n_d):
                for p in range(n_p):
                    acc[p] += z[j, d, p] * f[d, p]
            for p in range(n_p):
                s[idx[p]] += acc[p]
        for k in range(n_blocks):
            z, idx, out = zs[k], out_index[k], outs[k]
            n_d, n_p = out.shape
            sj = np.empty(n_p, np.complex64)
            for p in range(n_p):
                sj[p] = w[j] * s[idx[p]]
            for d in range(n_d):
                for p in range(n_p):
                    out[d, p] += np.conj(z[j, d, p]) * sj[p]


def _output_index(shape: tuple[int, int], out_shape: tuple[int, int], half: bool) -> np.ndarray:
    """The flat index on the ``out_shape`` grid of each frequency of a ``shape`` spectrum
    (:func:`~regtrack.core.eco.fourier.embed`)."""
    ys, xs = embed(np.empty(shape), out_shape, half)
    grid = np.arange(out_shape[0] * out_shape[1]).reshape(out_shape)
    return np.ascontiguousarray(grid[ys, xs].ravel(), np.int64)


def normal_equations(samples: list[np.ndarray], weights: np.ndarray, reg: list[np.ndarray],
                     out_shape: tuple[int, int], half: bool = False):  # noqa: ANN201 - a closure
    """``f -> A^H Gamma A f + W^H W f`` (C-COT eq. 11's left-hand side) for :func:`pcg`."""
    w = np.ascontiguousarray(weights, np.float32)
    flat = [_rows(z) for z in samples]
    index = [_output_index(z.shape[-2:], out_shape, half) for z in samples]
    fused = 1 <= len(samples) <= 3

    def apply(hf: list[np.ndarray]) -> list[np.ndarray]:
        if fused:
            data = [np.zeros(z.shape[1:], np.complex64) for z in flat]
            _gram_data_term(tuple(flat), tuple(_rows(f) for f in hf), tuple(index), w,
                            int(np.prod(out_shape)), tuple(data))
        else:  # more blocks than compiled for: the two-pass form
            sh = scores(hf, samples, out_shape, half) * w[:, None, None]
            data = []
            for f, z in zip(hf, flat, strict=True):
                ys, xs = embed(f, out_shape, half)
                data.append(_adjoint_sum(z, np.ascontiguousarray(sh[:, ys, xs]).reshape(len(w), -1)))
        out = []
        for f, d, r in zip(hf, data, reg, strict=True):
            reg_f = apply_reg(full(f), r)[..., : f.shape[-1]] if half else apply_reg(f, r)
            out.append(d.reshape(f.shape) + reg_f)
        return out

    return apply


def right_hand_side(samples: list[np.ndarray], weights: np.ndarray, yf: list[np.ndarray]) -> list[np.ndarray]:
    """``A^H Gamma y = sum_j alpha_j conj(z_j) y`` (C-COT eq. 11's right-hand side); ``yf[k]`` is
    the label on block ``k``'s frequencies."""
    w = np.asarray(weights, np.float32)
    out = []
    for z, y in zip(samples, yf, strict=True):
        wy = (w[:, None] * y.reshape(1, -1)).astype(np.complex64)  # alpha_j y, J x NM
        out.append(_adjoint_sum(_rows(z), wy).reshape(z.shape[1:]))
    return out


def preconditioner(sample_energy: list[np.ndarray], reg_energy: list[float], data_param: float,
                   reg_param: float) -> list[np.ndarray]:
    """ECO's diagonal preconditioner (sec. 4.3; ``precond_data_param``, ``precond_reg_param``):
    ``(1 - r) (d E + (1 - d) mean_d E) + r ||w||^2`` with ``E = |z|^2`` the (running) sample
    energy per channel and frequency."""
    out = []
    for e, re in zip(sample_energy, reg_energy, strict=True):
        data = data_param * e + (1 - data_param) * e.mean(axis=0, keepdims=True)
        out.append(((1 - reg_param) * data + reg_param * re).astype(np.float32))
    return out


def train_filter(hf: list[np.ndarray], samples: list[np.ndarray], weights: np.ndarray,
                 yf: list[np.ndarray], reg: list[np.ndarray], precond: list[np.ndarray],
                 out_shape: tuple[int, int], n_iter: int, half: bool = False, state: dict | None = None,
                 forget: float = 1.0) -> tuple[list[np.ndarray], list[float]]:
    """``n_iter`` CG iterations on C-COT eq. 11, from ``hf`` (warm start, ECO sec. 4.3);
    ``state`` and ``forget`` carry the CG direction between calls (:func:`~.cg.pcg`)."""
    apply = normal_equations(samples, weights, reg, out_shape, half)
    inner_fn = cg.inner
    if half:
        metrics = [half_metric(f) for f in hf]

        def inner_fn(a: list[np.ndarray], b: list[np.ndarray]) -> float:
            return float(sum(np.sum(m * (x.conj() * y).real) for x, y, m in zip(a, b, metrics, strict=True)))

    return cg.pcg(apply, right_hand_side(samples, weights, yf), hf, n_iter, precond, inner_fn=inner_fn,
                  state=state, forget=forget)
