"""The factorised convolution operator (ECO sec. 3.1): the filter has ``D`` channels and a
``C x D`` matrix ``P`` maps the ``C`` feature channels to them, ``S_Pf{x} = f * P^T J{x}``
(ECO eq. 3). ``P`` is learned on the first frame only, jointly with ``f``, by Gauss-Newton
(ECO eq. 4 and 10) whose linear least-squares steps are solved by conjugate gradient (eq. 11).

Starting point: ``P`` from PCA of the first frame's features (ECO's ``proj_init_method = 'pca'``),
``f = 0``. Each Gauss-Newton step linearises the residual around ``(f_i, P_i)``:

    sum_d z_d f_d + sum_{c,d} x_c dP_cd f_i,d - y,   z = P_i^T x,

and minimises its square plus ``||w f||^2 + lambda ||P_i + dP||^2`` over ``(f, dP)`` (ECO eq. 10);
the unknowns go to :func:`regtrack.core.eco.cg.pcg` as one list ``[f_1..f_K, dP_1..dP_K]``.
"""

from __future__ import annotations

import numpy as np

from regtrack.core.eco.cg import pcg
from regtrack.core.eco.fourier import embed
from regtrack.core.eco.regularization import apply_reg


def pca_projection(features: np.ndarray, dim: int) -> np.ndarray:
    """The ``C x dim`` matrix of the leading principal directions of a ``C x N x M`` feature map's
    (mean-subtracted) pixels (ECO ``init_projection_matrix.m``, ``'pca'``). ``dim >= C`` keeps
    all ``C`` directions (a rotation)."""
    c = features.shape[0]
    x = features.reshape(c, -1).astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    u, _, _ = np.linalg.svd(x @ x.T)
    return u[:, : min(dim, c)].astype(np.float32)


def project(xf: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``P^T x`` per frequency: ``[..., C, N, M] -> [..., D, N, M]`` (ECO eq. 3)."""
    c, d = p.shape
    flat = xf.reshape(xf.shape[:-3] + (c, -1))
    return (p.T.astype(xf.dtype) @ flat).reshape(xf.shape[:-3] + (d,) + xf.shape[-2:])


def gauss_newton_operators(xf: list[np.ndarray], p: list[np.ndarray], f0: list[np.ndarray],
                           lam: float, reg: list[np.ndarray], out_shape: tuple[int, int]):  # noqa: ANN201
    """The normal equations of one Gauss-Newton step (ECO eq. 10-11) around ``(f0, P)`` on one
    sample ``xf`` (``[C, N, M]`` per block, interpolated, not projected): returns ``(apply,
    rhs_fn, z)``: ``apply([f..., dP...])`` is the left-hand side, ``rhs_fn(yf_out)`` the right
    (``yf_out``: the label on the output grid), ``z`` the projected sample."""
    k_blocks = len(xf)
    z = [project(x, pk) for x, pk in zip(xf, p, strict=True)]

    # sums over channels and frequencies as matrix products (NumPy's einsum does not use BLAS
    # for these; the first frame's 10 x 20 CG iterations are its bulk)
    x_flat = [x.reshape(x.shape[0], -1) for x in xf]
    xc_flat = [x.conj() for x in x_flat]
    f0_flat = [f.reshape(f.shape[0], -1) for f in f0]
    f0c = [f.conj() for f in f0_flat]

    def residual(f: list[np.ndarray], dp: list[np.ndarray]) -> np.ndarray:
        sh = np.zeros(out_shape, np.complex64)
        for zk, fk, xk, dpk, f0k in zip(z, f, x_flat, dp, f0_flat, strict=True):
            ys, xs = embed(fk, out_shape)
            # sum_d z_d f_d + sum_d (dP^T x)_d f0_d = sum_d z_d f_d + sum_c x_c (dP f0)_c
            dpf0 = dpk.astype(np.complex64) @ f0k
            sh[ys, xs] += ((zk * fk).sum(0) + (xk * dpf0).sum(0).reshape(fk.shape[-2:]))
        return sh

    def adjoint(sh: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        out_f, out_p = [], []
        for zk, xck, f0ck in zip(z, xc_flat, f0c, strict=True):
            ys, xs = embed(zk, out_shape)
            s = sh[ys, xs]
            out_f.append(zk.conj() * s)
            out_p.append((xck @ (f0ck * s.reshape(1, -1)).T).real.astype(np.float32))
        return out_f, out_p

    def apply(v: list[np.ndarray]) -> list[np.ndarray]:
        f, dp = v[:k_blocks], v[k_blocks:]
        out_f, out_p = adjoint(residual(f, dp))
        out_f = [o + apply_reg(fk, r) for o, fk, r in zip(out_f, f, reg, strict=True)]
        out_p = [o + lam * d for o, d in zip(out_p, dp, strict=True)]
        return out_f + out_p

    def rhs_fn(yf_out: np.ndarray) -> list[np.ndarray]:
        out_f, out_p = adjoint(yf_out.astype(np.complex64))
        return out_f + [o - lam * pk for o, pk in zip(out_p, p, strict=True)]

    return apply, rhs_fn, z


def train_joint(xf: list[np.ndarray], p: list[np.ndarray], hf: list[np.ndarray], yf_out: np.ndarray,
                reg: list[np.ndarray], lam: float, n_gn: int, n_cg: int, precond_f: list[np.ndarray],
                precond_p_weight: float, out_shape: tuple[int, int]
                ) -> tuple[list[np.ndarray], list[np.ndarray], list[float]]:
    """ECO's first-frame optimisation (sec. 3.1, eq. 10-11): ``n_gn`` Gauss-Newton steps, each
    solved by ``n_cg`` preconditioned CG iterations. ``yf_out`` is the label on the output grid;
    ``precond_f`` the filter part of the diagonal preconditioner, ``precond_p_weight`` times
    ``(||y||^2 / sum C + lambda)`` the projection part (ECO's ``precond_proj_param``).
    Returns the filter, the projection matrices and the residual norms."""
    k_blocks = len(xf)
    p = [pk.astype(np.float32).copy() for pk in p]
    hf = [f.copy() for f in hf]
    proj_energy = float(np.sum(np.abs(yf_out) ** 2)) / sum(x.shape[0] for x in xf)
    precond = list(precond_f) + [np.full(pk.shape, precond_p_weight * (proj_energy + lam), np.float32)
                                 for pk in p]
    norms: list[float] = []
    for _ in range(n_gn):
        apply, rhs_fn, _ = gauss_newton_operators(xf, p, hf, lam, reg, out_shape)
        rhs = rhs_fn(yf_out)
        x0 = hf + [np.zeros_like(pk) for pk in p]
        sol, res = pcg(apply, rhs, x0, n_cg, precond)
        norms += res
        hf = sol[:k_blocks]
        p = [pk + dp for pk, dp in zip(p, sol[k_blocks:], strict=True)]
    return hf, p, norms
