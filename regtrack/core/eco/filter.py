"""Training the continuous filter on the sample space (C-COT eq. 9-12, ECO eq. 7 and sec. 4.3).

With projected samples ``z_j`` (Fourier coefficients of their continuous interpolations, one
array ``[J, D, N, M]`` per feature block), weights ``alpha_j`` and the label ``y``, the filter
``f`` minimises (C-COT eq. 9 with ECO's factorised samples)

    E(f) = sum_j alpha_j || sum_blocks sum_d z_jd f_d - y ||^2 + sum_d || w f_d ||^2,

whose normal equations (C-COT eq. 11) ``(A^H Gamma A + W^H W) f = A^H Gamma y`` are solved by
preconditioned conjugate gradient (:mod:`.cg`), warm-started from the current filter. Blocks of
different resolutions add up on the largest one's frequency grid (``out_shape``); each block's
filter has its own block's frequencies only.
"""

from __future__ import annotations

import numpy as np

from regtrack.core.eco.cg import pcg
from regtrack.core.eco.fourier import embed
from regtrack.core.eco.regularization import apply_reg


def scores(hf: list[np.ndarray], samples: list[np.ndarray], out_shape: tuple[int, int]) -> np.ndarray:
    """``sum_blocks sum_d z_d f_d`` on the output frequency grid: the detection scores' Fourier
    coefficients (C-COT eq. 2 / ECO eq. 3). ``samples[k]`` is ``[J, D, N, M]`` (or ``[D, N, M]``);
    returns ``[J, No, Mo]`` (or ``[No, Mo]``)."""
    lead = samples[0].shape[:-3]
    out = np.zeros(lead + tuple(out_shape), np.complex64)
    for f, z in zip(hf, samples, strict=True):
        ys, xs = embed(f, out_shape)
        out[..., ys, xs] += np.einsum("...dnm,dnm->...nm", z, f)
    return out


def normal_equations(samples: list[np.ndarray], weights: np.ndarray, reg: list[np.ndarray],
                     out_shape: tuple[int, int]):  # noqa: ANN201 - a closure
    """``f -> A^H Gamma A f + W^H W f`` (C-COT eq. 11's left-hand side) for :func:`pcg`."""
    conj = [z.conj() for z in samples]
    w = np.asarray(weights, np.float32)

    def apply(hf: list[np.ndarray]) -> list[np.ndarray]:
        sh = scores(hf, samples, out_shape) * w[:, None, None]
        out = []
        for f, zc, r in zip(hf, conj, reg, strict=True):
            ys, xs = embed(f, out_shape)
            out.append(np.einsum("jdnm,jnm->dnm", zc, sh[:, ys, xs]) + apply_reg(f, r))
        return out

    return apply


def right_hand_side(samples: list[np.ndarray], weights: np.ndarray, yf: list[np.ndarray]) -> list[np.ndarray]:
    """``A^H Gamma y = sum_j alpha_j conj(z_j) y`` (C-COT eq. 11's right-hand side); ``yf[k]`` is
    the label on block ``k``'s frequencies."""
    w = np.asarray(weights, np.float32)
    return [np.einsum("j,jdnm->dnm", w, z.conj()) * y for z, y in zip(samples, yf, strict=True)]


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
                 out_shape: tuple[int, int], n_iter: int) -> tuple[list[np.ndarray], list[float]]:
    """``n_iter`` CG iterations on C-COT eq. 11, from ``hf`` (warm start, ECO sec. 4.3)."""
    apply = normal_equations(samples, weights, reg, out_shape)
    return pcg(apply, right_hand_side(samples, weights, yf), hf, n_iter, precond)
