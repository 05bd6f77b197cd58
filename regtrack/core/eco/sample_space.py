"""ECO's generative sample space model (ECO sec. 3.2, eq. 8-9; ``update_sample_space_model.m``).

Instead of keeping every past sample, ECO keeps at most ``L`` components of a Gaussian mixture
of the sample distribution, each a mean sample with a prior weight. Each new sample ``x`` starts
a component of weight ``gamma`` (the learning rate) while the old weights decay by ``1 - gamma``;
when the memory is full, either the component with a negligible weight is replaced, or the two
closest components are merged: the new sample into its nearest component if that is closer
than any two existing ones, else those two into one, freeing a slot for ``x``. A merged
component is the weighted mean ``(w_k x_k + w_l x_l) / (w_k + w_l)`` with weight ``w_k + w_l``
(ECO eq. 9's update). Distances are ``||x_k - x_l||^2`` from a Gram matrix of the samples; a
merged component's row of it follows from the rows of its parts (one pass over the store per
update, for the new sample's inner products).

Samples are lists of arrays (one per feature block, any shape); the store keeps ``[L, ...]``
arrays per block.
"""

from __future__ import annotations

import numpy as np


class SampleSpace:
    """At most ``n_samples`` weighted components; :meth:`add` inserts a new sample."""

    def __init__(self, n_samples: int, learning_rate: float, min_weight: float | None = None,
                 metric: list[np.ndarray] | None = None) -> None:
        self.n_samples = int(n_samples)
        self.learning_rate = float(learning_rate)
        # ECO's 'lowest_prior' rule: a component below lr (1 - lr)^(2L) is forgotten outright
        self.min_weight = (learning_rate * (1 - learning_rate) ** (2 * n_samples)
                           if min_weight is None else min_weight)
        self.metric = metric  # per block, weights of the inner product (half spectra); None: plain
        self.samples: list[np.ndarray] | None = None
        self.weights = np.zeros(self.n_samples)
        self.gram = np.zeros((self.n_samples, self.n_samples))
        self.count = 0

    def _inner(self, sample: list[np.ndarray]) -> np.ndarray:
        """``Re <x_j, sample>`` for every slot ``j``."""
        g = np.zeros(self.n_samples)
        for k, (store, x) in enumerate(zip(self.samples, sample, strict=True)):
            xm = x if self.metric is None else x * self.metric[k]
            g += (store.reshape(self.n_samples, -1) @ xm.ravel().conj()).real  # Re <s, x> = Re <x, s>
        return g

    def norm2(self, sample: list[np.ndarray]) -> float:
        """``<x, x>`` under the space's inner product."""
        out = 0.0
        for k, x in enumerate(sample):
            e = (x * x.conj()).real
            out += float(np.sum(e if self.metric is None else e * self.metric[k]))
        return out

    def _put(self, slot: int, sample: list[np.ndarray], g: np.ndarray | None = None) -> None:
        """Store ``sample`` in ``slot``; ``g``: its inner products with the slots, if known
        (:meth:`_inner` reads the whole store, the bulk of an update)."""
        for store, x in zip(self.samples, sample, strict=True):
            store[slot] = x
        if g is None:
            g = self._inner(sample)
        self.gram[slot, :] = g
        self.gram[:, slot] = g

    def _merged_row(self, ga: np.ndarray, gb: np.ndarray, aa: float, ab: float, bb: float,
                    wa: float, wb: float) -> tuple[np.ndarray, float]:
        """The inner products of the merged ``(wa a + wb b) / (wa + wb)`` with the slots, and its
        own norm, from those of ``a`` and ``b`` (``ga``, ``gb``; ``aa = <a, a>``, ``ab``,
        ``bb``): inner products are linear (ECO's ``update_distance_matrix.m``), so no pass over
        the store is needed."""
        s = wa + wb
        row = (wa * ga + wb * gb) / s
        own = (wa * wa * aa + 2 * wa * wb * ab + wb * wb * bb) / (s * s)
        return row, own

    def distances(self) -> np.ndarray:
        """``||x_k - x_l||^2`` between the used slots (``inf`` on the diagonal)."""
        n = self.count
        d = np.diag(self.gram)[:n]
        dist = np.maximum(d[:, None] + d[None, :] - 2 * self.gram[:n, :n], 0)
        np.fill_diagonal(dist, np.inf)
        return dist

    def add(self, sample: list[np.ndarray]) -> tuple[int, int | None]:
        """Insert ``sample``; returns ``(slot of the new sample, slot merged into or None)``. A
        new sample merged into an existing component returns that slot twice."""
        lr = self.learning_rate
        if self.samples is None:
            self.samples = [np.zeros((self.n_samples,) + x.shape, x.dtype) for x in sample]
        if self.count < self.n_samples:
            slot = self.count
            self.weights *= 1 - lr
            self.weights[slot] = 1.0 if slot == 0 else lr
            self.count += 1
            self._put(slot, sample)
            merged = None
        else:
            low = int(np.argmin(self.weights))
            if self.weights[low] < self.min_weight:
                self.weights[low] = 0
                self.weights *= (1 - lr) / self.weights.sum()
                self.weights[low] = lr
                self._put(low, sample)
                slot, merged = low, None
            else:
                g = self._inner(sample)
                norm = self.norm2(sample)
                to_new = np.maximum(np.diag(self.gram) + norm - 2 * g, 0)
                nearest = int(np.argmin(to_new))
                dist = self.distances()
                pair = np.unravel_index(int(np.argmin(dist)), dist.shape)
                self.weights *= 1 - lr
                if to_new[nearest] < dist[pair]:
                    w = self.weights[nearest]
                    row, own = self._merged_row(self.gram[nearest], g, self.gram[nearest, nearest],
                                                g[nearest], norm, w, lr)
                    row[nearest] = own
                    self._put(nearest, merge([s[nearest] for s in self.samples], sample, w, lr), row)
                    self.weights[nearest] = w + lr
                    slot = merged = nearest
                else:
                    k, m = (int(pair[0]), int(pair[1]))
                    if self.weights[m] > self.weights[k]:
                        k, m = m, k
                    wk, wm = self.weights[k], self.weights[m]
                    row, own = self._merged_row(self.gram[k], self.gram[m], self.gram[k, k], self.gram[k, m],
                                                self.gram[m, m], wk, wm)
                    row[k], row[m] = own, (wk * g[k] + wm * g[m]) / (wk + wm)
                    pair_mean = merge([s[k] for s in self.samples], [s[m] for s in self.samples], wk, wm)
                    self._put(k, pair_mean, row)
                    g = g.copy()
                    g[k], g[m] = row[m], norm
                    self._put(m, sample, g)
                    self.weights[k], self.weights[m] = wk + wm, lr
                    slot, merged = m, k
        self.weights /= self.weights.sum()
        return slot, merged

    def used(self) -> tuple[list[np.ndarray], np.ndarray]:
        """The stored components ``[count, ...]`` per block and their weights (summing to 1)."""
        return [s[: self.count] for s in self.samples], self.weights[: self.count]


def merge(a: list[np.ndarray], b: list[np.ndarray], wa: float, wb: float) -> list[np.ndarray]:
    """The weighted mean of two samples, ``(wa a + wb b) / (wa + wb)`` (ECO sec. 3.2)."""
    return [((wa * x + wb * y) / (wa + wb)).astype(x.dtype) for x, y in zip(a, b, strict=True)]
