"""ECE, Brier, NLL, reliability bins and temperature scaling against hand-computed values."""

import math

import numpy as np
import pytest

from rewardkit.eval.calibration import (
    brier_score,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    preference_probability,
    reliability_bins,
    temperature_fit_report,
)


def logit(p):
    return math.log(p / (1 - p))


# p = σ(Δ) of six pairs: confidences 0.9, 0.9, 0.9 (one of them wrong: p = 0.1) and
# 0.6, 0.6, 0.6 (one wrong: p = 0.4).
P = [0.9, 0.9, 0.1, 0.6, 0.4, 0.6]
DELTA = np.array([logit(p) for p in P])


def test_ece_on_a_tiny_example_with_two_equal_mass_bins():
    """Bins (2, equal mass): {0.6, 0.6, 0.6} → accuracy 2/3, confidence 0.6, gap 1/15;
    {0.9, 0.9, 0.9} → accuracy 2/3, confidence 0.9, gap 7/30.
    ECE = ½·1/15 + ½·7/30 = 9/60 = 0.15."""
    assert expected_calibration_error(DELTA, n_bins=2) == pytest.approx(0.15, abs=1e-12)
    bins = reliability_bins(DELTA, n_bins=2)
    assert [b["n"] for b in bins] == [3, 3]
    assert bins[0]["confidence"] == pytest.approx(0.6)
    assert bins[1]["accuracy"] == pytest.approx(2 / 3)


def test_ece_equal_width_bins_match_on_the_same_example():
    """Equal-width bins [0.5, 0.75) and [0.75, 1] hold the same two groups: ECE 0.15."""
    assert expected_calibration_error(DELTA, n_bins=2, binning="equal-width") == pytest.approx(
        0.15, abs=1e-12
    )


def test_ece_of_a_perfectly_calibrated_bin_is_zero():
    """Four pairs at confidence 0.75, three of them right: accuracy = confidence."""
    delta = np.array([logit(0.75)] * 3 + [-logit(0.75)])
    assert expected_calibration_error(delta, n_bins=1) == pytest.approx(0.0, abs=1e-12)


def test_brier_and_nll_by_hand():
    """Brier = mean (1 − p)² = (0.01 + 0.01 + 0.81 + 0.16 + 0.36 + 0.16) / 6 = 1.51 / 6.
    NLL = −mean log p."""
    assert brier_score(DELTA) == pytest.approx(1.51 / 6, abs=1e-12)
    expected_nll = -np.mean(np.log(P))
    assert negative_log_likelihood(DELTA) == pytest.approx(expected_nll, abs=1e-12)
    assert preference_probability(np.array([0.0]))[0] == 0.5
    # the temperature divides Δ: σ(2/2) = σ(1)
    assert preference_probability(np.array([2.0]), 2.0)[0] == pytest.approx(1 / (1 + math.e**-1))


def test_temperature_fit_recovers_a_known_temperature():
    """Labels drawn from P(first wins) = σ(z/2) and Δ oriented to the label: the NLL-optimal
    temperature is the true one, 2 (maximum likelihood is consistent)."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=40000)
    first_wins = rng.random(z.size) < 1 / (1 + np.exp(-z / 2))
    delta = np.where(first_wins, z, -z)
    t = fit_temperature(delta)
    assert t == pytest.approx(2.0, rel=0.05)
    nll = negative_log_likelihood(delta, t)
    assert nll <= negative_log_likelihood(delta, t * 1.1)
    assert nll <= negative_log_likelihood(delta, t / 1.1)


def test_fitting_the_temperature_lowers_ece_on_held_out_pairs():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=4000)
    wins = rng.random(z.size) < 1 / (1 + np.exp(-z / 3))  # the model is over-confident: T = 3
    delta = np.where(wins, z, -z)
    report = temperature_fit_report(delta[:2000], delta[2000:], fitted_on="A", tested_on="B")
    assert report["temperature"] > 2
    assert report["after"]["ece"] < report["before"]["ece"]
    assert report["after"]["nll"] < report["before"]["nll"]
    assert report["n_fit"] == report["n_test"] == 2000


def test_summary_and_degenerate_inputs():
    summary = calibration_summary(DELTA, n_bins=2)
    assert summary["accuracy"] == pytest.approx(4 / 6)
    assert summary["mean_confidence"] == pytest.approx(0.75)
    assert math.isnan(expected_calibration_error(np.array([])))
    assert fit_temperature(np.zeros(5)) == 1.0
