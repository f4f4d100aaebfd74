"""Calibration of preference probabilities: ECE, Brier, NLL, reliability diagram, and the two
calibrators' fits.

A reward model states P(chosen ≻ rejected) = σ(z), z = sign(Δ)·|Δ/T|^γ, with
Δ = r_chosen − r_rejected (Bradley & Terry 1952) and a calibration (T, γ) fitted afterwards
(:class:`rewardkit.bradley_terry.Calibration`):

* ``temperature``: γ = 1, T fitted (temperature scaling, Guo et al. 2017, "On Calibration of
  Modern Neural Networks", ICML). BT rewards have an arbitrary scale, so T > 1 commonly
  repairs over-confidence;
* ``power``: T and γ fitted together, by maximum likelihood over (log T, log γ) with L-BFGS-B
  (Byrd et al. 1995) started from the fitted temperature — γ < 1 tempers large margins more
  than small ones.

Conventions (order-free, as if each pair were shown in a random order — σ(−x) = 1 − σ(x)):

* p = σ(z); the model's pick is the side with the higher reward (z has Δ's sign);
* confidence c = max(p, 1 − p); correct = [Δ > 0] (Δ = 0 picks nobody: c = 0.5, wrong);
* ECE (Naeini et al. 2015; Guo et al. 2017) = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)| over
  **10 equal-mass bins** of confidence (pairs sorted by confidence, split into 10 groups whose
  sizes differ by at most one) — or equal-width bins over [0.5, 1] when asked;
* Brier = mean (1 − p)², NLL = mean −log σ(z) (the BT log-loss), both against the label.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from rewardkit.bradley_terry import UNCALIBRATED, Calibration, log_sigmoid, sigmoid
from rewardkit.eval.config import BINNINGS, CALIBRATION_FORMS

TEMPERATURE_BOUNDS = (1e-3, 1e3)
EXPONENT_BOUNDS = (0.05, 20.0)


def reliability_bins(
    delta: np.ndarray,
    calibration: Calibration = UNCALIBRATED,
    n_bins: int = 10,
    binning: str = "equal-mass",
) -> list[dict]:
    """Per confidence bin: ``lo``, ``hi`` (confidence range), ``n``, mean ``confidence`` and
    ``accuracy`` — the points of a reliability diagram."""
    delta = np.asarray(delta, dtype=np.float64)
    p = calibration.probability(delta) if delta.size else delta
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
    delta: np.ndarray,
    calibration: Calibration = UNCALIBRATED,
    n_bins: int = 10,
    binning: str = "equal-mass",
) -> float:
    """ECE = Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)| (see the module docstring for the bins)."""
    return ece_of_bins(reliability_bins(delta, calibration, n_bins, binning))


def brier_score(delta: np.ndarray, calibration: Calibration = UNCALIBRATED) -> float:
    """Mean squared error of p against the label (chosen = 1): mean (1 − p)²."""
    delta = np.asarray(delta, dtype=np.float64)
    if delta.size == 0:
        return float("nan")
    return float(np.mean((1.0 - calibration.probability(delta)) ** 2))


def negative_log_likelihood(delta: np.ndarray, calibration: Calibration = UNCALIBRATED) -> float:
    """Mean −log p = −log σ(z): the Bradley–Terry log-loss."""
    delta = np.asarray(delta, dtype=np.float64)
    if delta.size == 0:
        return float("nan")
    return float(-log_sigmoid(calibration.logit(delta)).mean())


def fit_temperature(delta: np.ndarray, bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> float:
    """The T > 0 minimising the NLL of σ(Δ/T) (Guo et al. 2017), searched over log T."""
    delta = np.asarray(delta, dtype=np.float64)
    if delta.size == 0 or not np.any(delta):
        return 1.0
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(delta, Calibration(float(np.exp(log_t)))),
        bounds=(np.log(bounds[0]), np.log(bounds[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def fit_power(delta: np.ndarray) -> Calibration:
    """The (T, γ) minimising the NLL of σ(sign(Δ)·|Δ/T|^γ): L-BFGS-B over (log T, log γ)
    within :data:`TEMPERATURE_BOUNDS` × :data:`EXPONENT_BOUNDS`, from (fitted T, γ = 1).

    With ``u = γ·(log|Δ| − log T)`` and ``z = sign(Δ)·e^u``, the per-pair loss −log σ(z) has
    derivative −σ(−z) in z, and ∂z/∂log T = −γ·z, ∂z/∂log γ = u·z (pairs with Δ = 0 have
    p = ½ whatever the calibration and are left out of the search)."""
    delta = np.asarray(delta, dtype=np.float64)
    moved = delta[delta != 0]
    if moved.size == 0:
        return Calibration()
    sign, log_abs = np.sign(moved), np.log(np.abs(moved))

    def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        log_t, log_g = params
        gamma = np.exp(log_g)
        u = gamma * (log_abs - log_t)
        z = sign * np.exp(np.minimum(u, 50.0))  # e^50: every σ saturated; keeps the sum finite
        slope = -sigmoid(-z)
        gradient = [np.mean(slope * -gamma * z), np.mean(slope * u * z)]
        return float(-log_sigmoid(z).mean()), np.array(gradient)

    start = np.array([np.log(fit_temperature(delta)), 0.0])
    result = minimize(
        loss_and_gradient,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[tuple(np.log(TEMPERATURE_BOUNDS)), tuple(np.log(EXPONENT_BOUNDS))],
        options={"ftol": 1e-12, "gtol": 1e-8},
    )
    return Calibration(float(np.exp(result.x[0])), float(np.exp(result.x[1])))


def fit_calibration(delta: np.ndarray, form: str) -> Calibration:
    """The ``form`` (:data:`rewardkit.eval.config.CALIBRATION_FORMS`) fitted to ``Δ``."""
    if form not in CALIBRATION_FORMS:
        raise ValueError(f"form must be one of {CALIBRATION_FORMS}")
    if form == "temperature":
        return Calibration(fit_temperature(delta))
    return fit_power(delta)


def calibration_summary(
    delta: np.ndarray,
    calibration: Calibration = UNCALIBRATED,
    n_bins: int = 10,
    binning: str = "equal-mass",
) -> dict:
    """ECE, Brier, NLL, mean confidence, accuracy and the reliability bins under
    ``calibration`` (its ``temperature`` and ``exponent`` included)."""
    delta = np.asarray(delta, dtype=np.float64)
    p = calibration.probability(delta)
    return {
        "n": int(delta.size),
        **calibration.to_dict(),
        "ece": expected_calibration_error(delta, calibration, n_bins, binning),
        "brier": brier_score(delta, calibration),
        "nll": negative_log_likelihood(delta, calibration),
        "mean_confidence": float(np.maximum(p, 1 - p).mean()) if delta.size else None,
        "accuracy": float(np.mean(delta > 0)) if delta.size else None,
        "bins": reliability_bins(delta, calibration, n_bins, binning),
    }
