"""Calibration measured on pairs the calibrator never saw: cross-fitting (or a separate
calibration file), the ECE's bootstrap interval, and the noise floor a perfectly calibrated
model would show.

Cross-fitting (the sample splitting of Chernozhukov et al. 2018, "Double/debiased machine
learning", used here for a calibrator): the pairs are cut into K prompt-disjoint folds
(:func:`rewardkit.data.splits.fold_assignments`); each fold's probabilities come from a
calibrator (:mod:`rewardkit.eval.calibrators`: a temperature, Guo et al. 2017, or the power
form) fitted on the other K − 1 folds, so every pair gets an out-of-fold P(chosen ≻ rejected)
and the ECE covers the whole split, not half of it. Both forms of ``--calibrator auto`` use the
same folds, so their held-out losses pair up pair by pair. The calibration stored with the
model is the chosen form fitted on all pairs. With ``--calibration-data`` the calibrator is
fitted on that file and every pair of ``--data`` is held out (:func:`separate_data_report`).

Noise floor: even a perfectly calibrated model shows ECE > 0 on n pairs, because each pick is
right only with probability equal to its confidence and bins hold finitely many pairs.
Drawing outcomes from the model's own held-out confidences under the stored form (correct ~
Bernoulli(c); the "consistency resampling" of Bröcker & Smith 2007) gives the ECE distribution
of such a model on these n pairs and bins; a measured ECE at or below its 90% band's top is
not distinguishable from perfect calibration at this n.

Why no Platt bias (σ(a·Δ + b)): preference pairs are order-free (σ(−x) = 1 − σ(x)). Fitted on
both orders of every pair, b is 0; fitted on the stored order only, b learns that "the chosen
side wins", which is the label itself. On pairs, Platt's scaling is the temperature; the power
form (an exponent on |Δ/T|, the sign kept) is the order-free way to a second parameter.
"""

from __future__ import annotations

import numpy as np

from rewardkit.bradley_terry import UNCALIBRATED, Calibration, preference_probability
from rewardkit.data.splits import fold_assignments
from rewardkit.eval.calibration import (
    calibration_summary,
    confidence_bins,
    ece_of_bins,
    fit_calibration,
)
from rewardkit.eval.calibrators import choose_form, forms_of, paired_differences

FOLDS = 5
RESAMPLES = 1000  # bootstrap resamples of the ECE, and simulated perfectly calibrated runs


def cross_fitted_report(
    delta: np.ndarray,
    groups: list,
    *,
    current: Calibration = UNCALIBRATED,
    calibrator: str = "auto",
    n_bins: int = 10,
    binning: str = "equal-mass",
    folds: int = FOLDS,
    seed: int = 0,
) -> dict:
    """``--calibrate`` without ``--calibration-data``: the stored calibration (the chosen form
    fitted on all of ``delta``; ``temperature``, ``exponent``, ``form`` and ``why``),
    calibration at the model's ``current`` one (``before``), each fitted form out of fold
    (``forms``, with ``fold_calibrations`` and ``ece_ci95``; for ``auto`` also
    ``power_minus_temperature``), and the stored form's out-of-fold block (``after``, with
    ``noise_floor`` and ``within_noise_floor``). ``groups``: each pair's prompt key (folds
    are disjoint by it)."""
    delta = np.asarray(delta, dtype=np.float64)
    rng = np.random.default_rng(seed)
    fold = fold_assignments(delta.size, folds, rng, groups)
    logits, fold_fits = {}, {}
    for form in forms_of(calibrator):
        logits[form], fold_fits[form] = _out_of_fold(delta, fold, folds, form)
    judged = _judge(logits, calibrator, rng, n_bins, binning, seed)
    for form, fits in fold_fits.items():
        judged["forms"][form]["fold_calibrations"] = [c.to_dict() for c in fits]
    stored = fit_calibration(delta, judged["form"])
    return {
        **stored.to_dict(),
        **judged,
        "method": "cross-fitted",
        "folds": len(fold_fits[judged["form"]]),
        "fitted_on": "all pairs",
        "tested_on": f"every pair, from a calibrator fitted on the other {folds - 1} of "
        f"{folds} prompt-disjoint folds",
        "n_fit": int(delta.size),
        "n_test": int(delta.size),
        "before": calibration_summary(delta, current, n_bins, binning),
        "after": _after(judged, logits[judged["form"]], rng, n_bins, binning),
    }


def separate_data_report(
    delta_fit: np.ndarray,
    delta_test: np.ndarray,
    *,
    fitted_on: str,
    tested_on: str,
    current: Calibration = UNCALIBRATED,
    calibrator: str = "auto",
    n_bins: int = 10,
    binning: str = "equal-mass",
    seed: int = 0,
) -> dict:
    """``--calibration-data``: each form fitted on ``delta_fit``, judged on ``delta_test``
    (the same keys as :func:`cross_fitted_report`; each form's block holds its fit)."""
    delta_fit = np.asarray(delta_fit, dtype=np.float64)
    delta_test = np.asarray(delta_test, dtype=np.float64)
    rng = np.random.default_rng(seed)
    fits = {form: fit_calibration(delta_fit, form) for form in forms_of(calibrator)}
    logits = {form: fit.logit(delta_test) for form, fit in fits.items()}
    judged = _judge(logits, calibrator, rng, n_bins, binning, seed)
    for form, fit in fits.items():
        judged["forms"][form].update(fit.to_dict())
    return {
        **fits[judged["form"]].to_dict(),
        **judged,
        "method": "separate data",
        "fitted_on": fitted_on,
        "tested_on": tested_on,
        "n_fit": int(delta_fit.size),
        "n_test": int(delta_test.size),
        "before": calibration_summary(delta_test, current, n_bins, binning),
        "after": _after(judged, logits[judged["form"]], rng, n_bins, binning),
    }


def _out_of_fold(
    delta: np.ndarray, fold: np.ndarray, folds: int, form: str
) -> tuple[np.ndarray, list[Calibration]]:
    """Every pair's log-odds from ``form`` fitted without its fold, and the folds' fits."""
    logit = np.empty_like(delta)
    fits = []
    for k in range(folds):
        held_out = fold == k
        if not held_out.any():
            continue
        fit = fit_calibration(delta[~held_out], form)
        fits.append(fit)
        logit[held_out] = fit.logit(delta[held_out])
    return logit, fits


def _judge(
    logits: dict[str, np.ndarray], calibrator: str, rng, n_bins: int, binning: str, seed: int
) -> dict:
    """Each form's held-out summary (with its ECE interval), the paired differences when
    both were fitted, and the form to store with why."""
    forms = {}
    for form, logit in logits.items():
        block = calibration_summary(logit, UNCALIBRATED, n_bins, binning)
        block.update(temperature=None, exponent=None)  # one fit per fold, or set by the caller
        block["ece_ci95"] = ece_interval(logit, rng, n_bins, binning)
        forms[form] = block
    differences = paired_differences(logits, seed) if len(logits) > 1 else None
    form, why = choose_form(calibrator, differences)
    judged = {"calibrator": calibrator, "form": form, "why": why, "forms": forms}
    if differences is not None:
        judged["power_minus_temperature"] = differences
    return judged


def _after(judged: dict, logit: np.ndarray, rng, n_bins: int, binning: str) -> dict:
    """The stored form's held-out block, with the noise floor of its held-out log-odds."""
    after = dict(judged["forms"][judged["form"]])
    after["noise_floor"] = noise_floor(logit, rng, n_bins, binning)
    after["within_noise_floor"] = bool(after["ece"] <= after["noise_floor"]["band90"][1])
    return after


def ece_interval(
    scaled: np.ndarray, rng, n_bins: int, binning: str, resamples: int = RESAMPLES
) -> list[float]:
    """95% bootstrap interval of the ECE of ``scaled``, the calibrated log-odds (Δ/T for a
    temperature), resampling pairs. Resampling
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
