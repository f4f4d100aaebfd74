"""ECE, Brier, NLL, reliability bins and the two calibrators' fits against hand-computed
values and known truths."""

import math

import numpy as np
import pytest

from rewardkit.bradley_terry import Calibration, preference_probability
from rewardkit.eval.calibration import (
    brier_score,
    calibration_summary,
    expected_calibration_error,
    fit_calibration,
    fit_power,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
)
from rewardkit.eval.cross_fitted import separate_data_report


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
    nll = negative_log_likelihood(delta, Calibration(t))
    assert nll <= negative_log_likelihood(delta, Calibration(t * 1.1))
    assert nll <= negative_log_likelihood(delta, Calibration(t / 1.1))


def test_fitting_the_temperature_lowers_ece_on_held_out_pairs():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=4000)
    wins = rng.random(z.size) < 1 / (1 + np.exp(-z / 3))  # the model is over-confident: T = 3
    delta = np.where(wins, z, -z)
    report = separate_data_report(
        delta[:2000], delta[2000:], fitted_on="A", tested_on="B", calibrator="temperature"
    )
    assert report["temperature"] > 2 and report["exponent"] == 1.0
    assert report["form"] == "temperature" and set(report["forms"]) == {"temperature"}
    assert report["after"]["ece"] < report["before"]["ece"]
    assert report["after"]["nll"] < report["before"]["nll"]
    assert report["n_fit"] == report["n_test"] == 2000


def test_summary_and_degenerate_inputs():
    summary = calibration_summary(DELTA, n_bins=2)
    assert summary["accuracy"] == pytest.approx(4 / 6)
    assert summary["mean_confidence"] == pytest.approx(0.75)
    assert math.isnan(expected_calibration_error(np.array([])))
    assert fit_temperature(np.zeros(5)) == 1.0


def power_model_margins(n: int, temperature: float, exponent: float, seed: int = 0):
    """|Δ| log-normal (log|Δ| ~ N(0.3, 0.8²), a spread of margins that identifies γ); the
    chosen side is the favoured one with probability σ(z), z = (|Δ|/T)^γ. Returns Δ and |Δ|."""
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(0.3, 0.8, n))
    z = (size / temperature) ** exponent
    favoured = rng.random(n) < 1 / (1 + np.exp(-z))
    return np.where(favoured, size, -size), size


def standard_errors(size: np.ndarray, temperature: float, exponent: float) -> np.ndarray:
    """Asymptotic standard errors of (log T̂, log γ̂): the inverse Fisher information of the
    n Bernoulli outcomes, Σ σ(z)(1 − σ(z))·J Jᵀ with J = ∂z/∂(log T, log γ) = (−γz, z·log z)."""
    z = (size / temperature) ** exponent
    weight = 1 / (1 + np.exp(-z)) * (1 / (1 + np.exp(z)))
    jacobian = np.stack([-exponent * z, z * np.log(z)])
    information = (weight * jacobian) @ jacobian.T
    return np.sqrt(np.diag(np.linalg.inv(information)))


@pytest.mark.parametrize("temperature,exponent", [(2.0, 0.6), (0.8, 1.5)])
def test_the_power_fit_recovers_a_known_temperature_and_exponent(temperature, exponent):
    """Outcomes drawn from the power model itself: maximum likelihood lands within 4 standard
    errors (from the sample size, via the Fisher information) of the true (log T, log γ)."""
    delta, size = power_model_margins(20000, temperature, exponent)
    fit = fit_power(delta)
    se_t, se_g = standard_errors(size, temperature, exponent)
    assert se_g < 0.05  # the tolerance is tight enough to tell 0.6 or 1.5 from 1
    assert abs(math.log(fit.temperature / temperature)) < 4 * se_t
    assert abs(math.log(fit.exponent / exponent)) < 4 * se_g
    # the fit is the NLL's minimum: moving either parameter raises it
    nll = negative_log_likelihood(delta, fit)
    for t, g in [(1.02, 1), (1 / 1.02, 1), (1, 1.02), (1, 1 / 1.02)]:
        moved = Calibration(fit.temperature * t, fit.exponent * g)
        assert nll < negative_log_likelihood(delta, moved)


def test_fit_calibration_names_its_forms():
    """``temperature`` keeps γ = 1; Δ all zero carries no information: the raw model."""
    delta, _ = power_model_margins(500, 1.0, 0.5)
    assert fit_calibration(delta, "temperature").exponent == 1.0
    assert fit_calibration(delta, "power").exponent != 1.0
    assert fit_power(np.zeros(4)) == Calibration()
    with pytest.raises(ValueError):
        fit_calibration(delta, "platt")
