"""Gold against proxy on Gao et al.'s axis: distance d = √KL, the fitted curve and its peak.

For best-of-n, KL(best-of-n ‖ policy) = log n − (n − 1)/n nats (Stiennon et al. 2020); Beirami
et al. 2024 ("Theoretical guarantees on the best-of-n alignment policy") show this is an upper
bound on the true KL, so the d axis is an upper bound too. Gao, Schulman & Hilton 2022
("Scaling Laws for Reward Model Overoptimization") find that the gold reward gained over the
unoptimized policy follows

    gold(d) − gold(0) = d · (α − β · d),      d = √KL,

which peaks at d* = α / (2β) when β > 0. This module fits α and β by least squares (no
intercept: the gain is 0 at d = 0), finds the predicted and observed peaks, and puts bootstrap
intervals over prompts on all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from rewardkit.candidates.best_of_n import kl_bound

BOOTSTRAP_SEED = 0


def best_of_n_distance(n: np.ndarray | int) -> np.ndarray:
    """``d = √(log n − (n − 1)/n)`` for each n ≥ 1 (an upper bound, see the module docstring)."""
    return np.sqrt(np.array([kl_bound(int(k)) for k in np.atleast_1d(n)], dtype=np.float64))


def n_at_distance(distance: float) -> float:
    """The (real) n ≥ 1 whose best-of-n distance is ``distance``: inverts
    ``log n − (n − 1)/n = d²``, which rises monotonically in n; ``inf`` beyond n = 10¹⁵."""
    target = float(distance) ** 2
    if target <= 0:
        return 1.0
    high = 2.0
    while math.log(high) - (high - 1) / high < target:
        high *= 2
        if high > 1e15:
            return math.inf
    return float(brentq(lambda n: math.log(n) - (n - 1) / n - target, 1.0, high))


@dataclass
class CurveFit:
    """``gain = d (α − β d)`` fitted to one gold curve; ``peak_distance`` is α/(2β), or None
    when β ≤ 0 (the fit never turns down)."""

    alpha: float
    beta: float

    @property
    def peak_distance(self) -> float | None:
        return max(0.0, self.alpha / (2 * self.beta)) if self.beta > 0 else None

    @property
    def peak_n(self) -> float | None:
        """The n of the predicted peak; None when there is none or it lies beyond 10¹⁵."""
        d = self.peak_distance
        n = None if d is None else n_at_distance(d)
        return n if n is not None and math.isfinite(n) else None

    def predict(self, distance: np.ndarray) -> np.ndarray:
        return distance * (self.alpha - self.beta * distance)


def fit_coefficients(distance: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Least-squares ``(α, β)`` of ``gain = α d − β d²``; ``gains`` is ``(n_points,)`` or
    ``(B, n_points)`` (one fit per row, all at once). Returns ``(2,)`` or ``(B, 2)``."""
    design = np.stack([distance, -(distance**2)], axis=1)
    solution, *_ = np.linalg.lstsq(design, np.atleast_2d(gains).T, rcond=None)
    return solution.T if np.ndim(gains) == 2 else solution[:, 0]


def fit_gold_curve(distance: np.ndarray, gold: np.ndarray) -> CurveFit:
    """Fit the gold gain over n = 1 (``gold − gold[0]``) against ``distance``."""
    alpha, beta = fit_coefficients(distance, gold - gold[0])
    return CurveFit(float(alpha), float(beta))


def observed_peak(gold: np.ndarray) -> int:
    """The n (1-based) of the highest mean gold; the smallest such n on a tie."""
    return int(np.argmax(gold)) + 1


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> list[float | None]:
    """The central ``level`` percentile interval of the finite ``samples`` (None when none)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return [None, None]
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return [float(low), float(high)]


def bootstrap_fits(
    distance: np.ndarray, gold_by_prompt: np.ndarray, *, samples: int, seed: int = BOOTSTRAP_SEED
) -> dict:
    """Resample prompts with replacement ``samples`` times; each resample's mean gold curve is
    fitted again. ``gold_by_prompt``: ``(P, n_points)``. Returns 95% intervals of α, β, the
    predicted peak d* (resamples whose fit never turns down count as +∞), its n, and the
    observed peak n."""
    rng = np.random.default_rng(seed)
    n_prompts = gold_by_prompt.shape[0]
    picks = rng.integers(n_prompts, size=(samples, n_prompts))
    curves = gold_by_prompt[picks].mean(axis=1)  # (B, n_points)
    coefficients = fit_coefficients(distance, curves - curves[:, :1])
    alpha, beta = coefficients[:, 0], coefficients[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        peak_d = np.where(beta > 0, np.maximum(alpha / (2 * beta), 0.0), np.inf)
    peak_n = np.array([n_at_distance(d) if np.isfinite(d) else np.inf for d in peak_d])
    observed = np.argmax(curves, axis=1) + 1.0
    return {
        "samples": samples,
        "alpha": percentile_interval(alpha),
        "beta": percentile_interval(beta),
        "peak_distance": _interval_with_infinity(peak_d),
        "peak_n": _interval_with_infinity(peak_n),
        "observed_peak_n": percentile_interval(observed),
        "share_turning_down": float(np.mean(beta > 0)),
    }


def _interval_with_infinity(values: np.ndarray) -> list[float | None]:
    """Percentile interval where +∞ (no peak) is a value: an end at +∞ becomes None."""
    low = np.percentile(values, 2.5, method="lower")
    high = np.percentile(values, 97.5, method="higher")
    return [float(low) if np.isfinite(low) else None, float(high) if np.isfinite(high) else None]
