"""Best-of-n without resampling noise: the exact expectation over every size-n subset.

Best-of-n draws n of a prompt's candidates and keeps the one the proxy scores highest. With N
candidates sorted by proxy score (ascending, i = 1 … N), the i-th is the winner of exactly
C(i − 1, n − 1) of the C(N, n) subsets, so the expected value of any per-candidate quantity v
(gold reward, proxy reward, "carries a trick") under best-of-n is

    E_n[v] = Σ_i  C(i − 1, n − 1) / C(N, n) · v_(i)

— the unbiased best-of-n estimator behind the curves of Gao, Schulman & Hilton 2022 ("Scaling
Laws for Reward Model Overoptimization"), with no resampling noise.
Weights are computed in log space (log-gamma), so N in the thousands stays exact to rounding.

Tie rule: candidates with equal proxy scores are interchangeable to the selector; the value of
each is replaced by the mean over its tie group before weighting. That is the expectation under
a uniformly random tie-break, and it does not depend on the input order.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def log_binomial(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log C(a, b)`` elementwise; ``-inf`` where ``b < 0`` or ``b > a``."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    valid = (b >= 0) & (b <= a)
    out = np.full(a.shape, -np.inf)
    out[valid] = gammaln(a[valid] + 1) - gammaln(b[valid] + 1) - gammaln(a[valid] - b[valid] + 1)
    return out


def best_of_n_weights(n_candidates: int) -> np.ndarray:
    """``W (N, N)``: ``W[n − 1, i − 1]`` = C(i − 1, n − 1) / C(N, n), the probability that the
    i-th lowest-scored of N candidates wins best-of-n. Each row sums to 1."""
    big_n = int(n_candidates)
    if big_n < 1:
        raise ValueError("best-of-n needs at least one candidate")
    n = np.arange(1, big_n + 1)[:, None]
    i = np.arange(1, big_n + 1)[None, :]
    log_w = log_binomial(i - 1, n - 1) - log_binomial(np.full_like(n, big_n), n)
    return np.exp(log_w)


def tie_averaged(scores: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` with each entry replaced by its mean over candidates of equal ``scores``."""
    scores = np.asarray(scores, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    _, group = np.unique(scores, return_inverse=True)
    sums = np.bincount(group, weights=values)
    counts = np.bincount(group)
    return (sums / counts)[group]


def expected_best_of_n(scores: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(N,)``: for n = 1 … N, the expected ``values`` of the candidate that best-of-n picks by
    ``scores`` (one prompt's N candidates; ties as in the module docstring)."""
    scores = np.asarray(scores, dtype=np.float64)
    values = tie_averaged(scores, values)
    order = np.argsort(scores, kind="stable")
    return best_of_n_weights(len(scores)) @ values[order]


def prompt_curves(scores: list[np.ndarray], values: list[np.ndarray], n_max: int) -> np.ndarray:
    """``(P, n_max)``: :func:`expected_best_of_n` of each prompt, for n = 1 … ``n_max`` (every
    prompt has at least ``n_max`` candidates)."""
    return np.stack([expected_best_of_n(s, v)[:n_max] for s, v in zip(scores, values)])
