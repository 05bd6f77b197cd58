"""Preconditioned conjugate gradient for ECO's normal equations (ECO sec. 3.1 and 4.3; C-COT
sec. 3.3: "the normal equations are solved iteratively with conjugate gradient").

The unknowns are a *list* of arrays (one filter per feature block, plus the projection matrices
in the first frame's Gauss-Newton problem), so the solver works on lists: the inner product is
``sum_i Re <a_i, b_i>`` (real, because the filters are real in the spatial domain and their
full spectra Hermitian), the preconditioner a list of positive arrays (a diagonal ``M``).
Warm start: ECO runs only a few iterations per update, starting from the previous filter.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Vector = list[np.ndarray]


def inner(a: Vector, b: Vector) -> float:
    """``sum_i Re sum conj(a_i) b_i``."""
    return float(sum(np.vdot(x.ravel(), y.ravel()).real for x, y in zip(a, b, strict=True)))


def _axpy(alpha: float, x: Vector, y: Vector) -> Vector:
    return [yi + alpha * xi for xi, yi in zip(x, y, strict=True)]


def pcg(apply_a: Callable[[Vector], Vector], rhs: Vector, x0: Vector, n_iter: int,
        precond: Vector | None = None, tol: float = 0.0,
        inner_fn: Callable[[Vector, Vector], float] = inner, state: dict | None = None,
        forget: float = 1.0) -> tuple[Vector, list[float]]:
    """Solve ``A x = rhs`` for a symmetric positive definite ``A`` (given as ``apply_a``) by
    ``n_iter`` iterations of preconditioned CG from ``x0``, the preconditioner ``M = diag(precond)``
    (``None``: none), the inner product ``inner_fn`` (default :func:`inner`). Returns ``x`` and
    the residual norms ``|r|`` after each iteration; stops early when ``|r| <= tol |rhs|``.

    The direction update is Polak-Ribiere's (ECO's ``CG_use_FR = false``; for a fixed linear
    system it equals the textbook one). ``state`` (a dict, read and updated) carries the last
    search direction to the next call, as ECO's ``pcg_ccot`` does between the few-iteration
    updates of consecutive frames, its weight divided by ``forget`` (ECO's
    ``(1 - learning_rate) ** CG_forgetting_rate``): the solves continue one another."""
    x = [v.copy() for v in x0]
    r = [b - ax for b, ax in zip(rhs, apply_a(x), strict=True)]
    norms: list[float] = []
    rhs_norm = np.sqrt(max(inner_fn(rhs, rhs), 1e-300))
    p: Vector | None = None
    r_prev: Vector | None = None
    rho_old = 1.0
    if state and state.get("p") is not None:
        p, r_prev, rho_old = state["p"], state["r_prev"], state["rho"] / forget
    for _ in range(n_iter):
        z = r if precond is None else [ri / mi for ri, mi in zip(r, precond, strict=True)]
        rho = inner_fn(r, z)
        if rho <= 0.0 or not np.isfinite(rho):
            break
        if p is None:
            p = z
        else:
            beta = max(0.0, (rho - inner_fn(r_prev, z)) / rho_old)
            p = _axpy(beta, p, z)
        q = apply_a(p)
        pq = inner_fn(p, q)
        if pq <= 0.0 or not np.isfinite(pq):
            break
        alpha = rho / pq
        x = _axpy(alpha, p, x)
        r_prev = r
        r = _axpy(-alpha, q, r)
        rho_old = rho
        norms.append(float(np.sqrt(max(inner_fn(r, r), 0.0))))
        if norms[-1] <= tol * rhs_norm:
            break
    if state is not None:
        state.update(p=p, r_prev=r_prev, rho=rho_old)
    return x, norms
