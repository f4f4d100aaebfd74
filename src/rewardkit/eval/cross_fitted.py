"""Calibration measured on pairs the calibrator never saw: cross-fitting, the ECE's bootstrap
interval, and the noise floor a perfectly calibrated model would show.

Cross-fitting (the sample splitting of Chernozhukov et al. 2018, "Double/debiased machine
learning", used here for a calibrator): the pairs are cut into K prompt-disjoint folds
(:func:`rewardkit.data.splits.fold_assignments`); each fold's probabilities come from a
temperature (Guo et al. 2017) fitted on the other K − 1 folds, so every pair gets an
out-of-fold P(chosen ≻ rejected) and the ECE covers the whole split, not half of it. The
temperature stored with the model is then fitted on all pairs.

Noise floor: even a perfectly calibrated model shows ECE > 0 on n pairs, because each pick is
right only with probability equal to its confidence and bins hold finitely many pairs.
Drawing outcomes from the model's own out-of-fold confidences (correct ~ Bernoulli(c); the
"consistency resampling" of Bröcker & Smith 2007) gives the ECE distribution of such a model
on these n pairs and bins; a measured ECE at or below its 90% band's top is not
distinguishable from perfect calibration at this n.

Why one temperature and no Platt bias (σ(a·Δ + b)): preference pairs are order-free
(σ(−x) = 1 − σ(x)). Fitted on both orders of every pair, b is 0; fitted on the stored order
only, b learns that "the chosen side wins", which is the label itself. On pairs, Platt's
scaling is the temperature.
"""

from __future__ import annotations

import numpy as np

from rewardkit.bradley_terry import preference_probability
from rewardkit.data.splits import fold_assignments
from rewardkit.eval.calibration import (
    calibration_summary,
    confidence_bins,
    ece_of_bins,
    fit_temperature,
)

FOLDS = 5
RESAMPLES = 1000  # bootstrap resamples of the ECE, and simulated perfectly calibrated runs


def cross_fitted_report(
    delta: np.ndarray,
    groups: list,
    *,
    current_temperature: float = 1.0,
    n_bins: int = 10,
    binning: str = "equal-mass",
    folds: int = FOLDS,
    seed: int = 0,
) -> dict:
    """``--calibrate`` without ``--calibration-data``: the stored temperature (fitted on all
    of ``delta``), calibration at the model's current temperature (``before``) and at the
    out-of-fold temperatures (``after``, with ``ece_ci95``, ``noise_floor`` and
    ``within_noise_floor``). ``groups``: each pair's prompt key (folds are disjoint by it)."""
    delta = np.asarray(delta, dtype=np.float64)
    rng = np.random.default_rng(seed)
    fold = fold_assignments(delta.size, folds, rng, groups)
    scaled = np.empty_like(delta)
    fold_temperatures = []
    for k in range(folds):
        held_out = fold == k
        if not held_out.any():
            continue
        temperature = fit_temperature(delta[~held_out])
        fold_temperatures.append(temperature)
        scaled[held_out] = delta[held_out] / temperature
    after = calibration_summary(scaled, 1.0, n_bins, binning)
    after["temperature"] = None  # one per fold
    after["fold_temperatures"] = fold_temperatures
    after["ece_ci95"] = ece_interval(scaled, rng, n_bins, binning)
    after["noise_floor"] = noise_floor(scaled, rng, n_bins, binning)
    after["within_noise_floor"] = bool(after["ece"] <= after["noise_floor"]["band90"][1])
    return {
        "temperature": fit_temperature(delta),
        "method": "cross-fitted",
        "folds": int(len(fold_temperatures)),
        "fitted_on": "all pairs (the stored temperature)",
        "tested_on": f"every pair, from a temperature fitted on the other {folds - 1} of "
        f"{folds} prompt-disjoint folds",
        "n_fit": int(delta.size),
        "n_test": int(delta.size),
        "before": calibration_summary(delta, current_temperature, n_bins, binning),
        "after": after,
    }


def ece_interval(
    scaled: np.ndarray, rng, n_bins: int, binning: str, resamples: int = RESAMPLES
) -> list[float]:
    """95% bootstrap interval of the ECE of ``scaled`` = Δ/T, resampling pairs. Resampling
    adds noise, and noise only raises an ECE, so the bootstrap ECEs sit above the estimate;
    the percentile interval is moved down by the bootstrap's estimate of that bias (mean of
    the resampled ECEs minus the ECE; Efron & Tibshirani 1993, ch. 10) and kept ≥ 0."""
    p = preference_probability(scaled)
    confidence, correct = np.maximum(p, 1.0 - p), scaled > 0
    estimate = ece_of_bins(confidence_bins(confidence, correct, n_bins, binning))
    draws = rng.integers(0, scaled.size, size=(resamples, scaled.size))
    eces = np.array(
        [ece_of_bins(confidence_bins(confidence[d], correct[d], n_bins, binning)) for d in draws]
    )
    bias = float(eces.mean()) - estimate
    low, high = np.percentile(eces, [2.5, 97.5]) - bias
    return [max(float(low), 0.0), max(float(high), 0.0)]


def noise_floor(scaled: np.ndarray, rng, n_bins: int, binning: str, runs: int = RESAMPLES) -> dict:
    """The ECE a perfectly calibrated model with these confidences shows on this many pairs:
    median and 90% band (5th–95th percentile) over ``runs`` simulated outcome draws."""
    p = preference_probability(scaled)
    confidence = np.maximum(p, 1.0 - p)
    eces = [
        ece_of_bins(
            confidence_bins(confidence, rng.random(confidence.size) < confidence, n_bins, binning)
        )
        for _ in range(runs)
    ]
    return {
        "median": float(np.median(eces)),
        "band90": [float(np.percentile(eces, 5)), float(np.percentile(eces, 95))],
        "runs": runs,
    }
