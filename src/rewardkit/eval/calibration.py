"""Calibration of preference probabilities: ECE, Brier, NLL, reliability diagram, temperature.

A reward model states P(chosen ≻ rejected) = σ(Δ/T) with Δ = r_chosen − r_rejected
(Bradley & Terry 1952) and a temperature T fitted afterwards (temperature scaling, Guo et al.
2017, "On Calibration of Modern Neural Networks", ICML). BT rewards have an arbitrary scale,
so T > 1 commonly repairs over-confidence.

Conventions (order-free, as if each pair were shown in a random order — σ(−x) = 1 − σ(x)):

* p = σ(Δ/T); the model's pick is the side with the higher reward;
* confidence c = max(p, 1 − p); correct = [Δ > 0] (Δ = 0 picks nobody: c = 0.5, wrong);
* ECE (Naeini et al. 2015; Guo et al. 2017) = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)| over
  **10 equal-mass bins** of confidence (pairs sorted by confidence, split into 10 groups whose
  sizes differ by at most one) — or equal-width bins over [0.5, 1] when asked;
* Brier = mean (1 − p)², NLL = mean −log σ(Δ/T) (the BT log-loss), both against the label.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from rewardkit.bradley_terry import log_sigmoid, preference_probability
from rewardkit.eval.config import BINNINGS


def reliability_bins(
    delta: np.ndarray, temperature: float = 1.0, n_bins: int = 10, binning: str = "equal-mass"
) -> list[dict]:
    """Per confidence bin: ``lo``, ``hi`` (confidence range), ``n``, mean ``confidence`` and
    ``accuracy`` — the points of a reliability diagram."""
    delta = np.asarray(delta, dtype=np.float64)
    p = preference_probability(delta, temperature) if delta.size else delta
    return confidence_bins(np.maximum(p, 1.0 - p), delta > 0, n_bins, binning)


def confidence_bins(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10, binning: str = "equal-mass"
) -> list[dict]:
    """:func:`reliability_bins` from each pair's confidence and whether the pick was right."""
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}")
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidence.size == 0:
        return []
    if binning == "equal-mass":
        order = np.argsort(confidence, kind="stable")
        groups = [g for g in np.array_split(order, min(n_bins, confidence.size)) if g.size]
    else:
        edges = np.linspace(0.5, 1.0, n_bins + 1)
        which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
        groups = [np.flatnonzero(which == b) for b in range(n_bins)]
        groups = [g for g in groups if g.size]
    return [
        {
            "lo": float(confidence[g].min()),
            "hi": float(confidence[g].max()),
            "n": int(g.size),
            "confidence": float(confidence[g].mean()),
            "accuracy": float(correct[g].mean()),
        }
        for g in groups
    ]


def ece_of_bins(bins: list[dict]) -> float:
    """Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)|; NaN without pairs."""
    n = sum(b["n"] for b in bins)
    if n == 0:
        return float("nan")
    return float(sum(b["n"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins))


def expected_calibration_error(
    delta: np.ndarray, temperature: float = 1.0, n_bins: int = 10, binning: str = "equal-mass"
) -> float:
    """ECE = Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)| (see the module docstring for the bins)."""
    return ece_of_bins(reliability_bins(delta, temperature, n_bins, binning))


def brier_score(delta: np.ndarray, temperature: float = 1.0) -> float:
    """Mean squared error of p against the label (chosen = 1): mean (1 − σ(Δ/T))²."""
    delta = np.asarray(delta, dtype=np.float64)
    if delta.size == 0:
        return float("nan")
    return float(np.mean((1.0 - preference_probability(delta, temperature)) ** 2))


def negative_log_likelihood(delta: np.ndarray, temperature: float = 1.0) -> float:
    """Mean −log σ(Δ/T): the Bradley–Terry log-loss."""
    delta = np.asarray(delta, dtype=np.float64)
    if delta.size == 0:
        return float("nan")
    return float(-log_sigmoid(delta / temperature).mean())


def fit_temperature(delta: np.ndarray, bounds: tuple[float, float] = (1e-3, 1e3)) -> float:
    """The T > 0 minimising the NLL of σ(Δ/T) (Guo et al. 2017), searched over log T."""
    delta = np.asarray(delta, dtype=np.float64)
    if delta.size == 0 or not np.any(delta):
        return 1.0
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(delta, float(np.exp(log_t))),
        bounds=(np.log(bounds[0]), np.log(bounds[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def calibration_summary(
    delta: np.ndarray, temperature: float = 1.0, n_bins: int = 10, binning: str = "equal-mass"
) -> dict:
    """ECE, Brier, NLL, mean confidence, accuracy and the reliability bins at ``temperature``."""
    delta = np.asarray(delta, dtype=np.float64)
    p = preference_probability(delta, temperature)
    return {
        "n": int(delta.size),
        "temperature": float(temperature),
        "ece": expected_calibration_error(delta, temperature, n_bins, binning),
        "brier": brier_score(delta, temperature),
        "nll": negative_log_likelihood(delta, temperature),
        "mean_confidence": float(np.maximum(p, 1 - p).mean()) if delta.size else None,
        "accuracy": float(np.mean(delta > 0)) if delta.size else None,
        "bins": reliability_bins(delta, temperature, n_bins, binning),
    }


def temperature_fit_report(
    delta_fit: np.ndarray,
    delta_test: np.ndarray,
    *,
    fitted_on: str,
    tested_on: str,
    current_temperature: float = 1.0,
    n_bins: int = 10,
    binning: str = "equal-mass",
) -> dict:
    """Fit T on ``delta_fit``; report calibration on ``delta_test`` before (current T) and after."""
    temperature = fit_temperature(delta_fit)
    return {
        "temperature": temperature,
        "fitted_on": fitted_on,
        "tested_on": tested_on,
        "n_fit": int(np.asarray(delta_fit).size),
        "n_test": int(np.asarray(delta_test).size),
        "before": calibration_summary(delta_test, current_temperature, n_bins, binning),
        "after": calibration_summary(delta_test, temperature, n_bins, binning),
    }
