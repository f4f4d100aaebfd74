"""The d(α − βd) fit, its peak, and the bootstrap over prompts."""

import numpy as np
import pytest

from rewardkit.overopt.curves import (
    best_of_n_distance,
    bootstrap_fits,
    fit_gold_curve,
    n_at_distance,
)


def test_fit_recovers_known_alpha_and_beta():
    # gold = 0.3 + d(1.2 − 0.4 d): exact data → exact coefficients; peak d* = 1.2/0.8 = 1.5
    d = best_of_n_distance(np.arange(1, 65))
    fit = fit_gold_curve(d, 0.3 + d * (1.2 - 0.4 * d))
    assert fit.alpha == pytest.approx(1.2, abs=1e-10)
    assert fit.beta == pytest.approx(0.4, abs=1e-10)
    assert fit.peak_distance == pytest.approx(1.5)
    assert fit.peak_n == pytest.approx(n_at_distance(1.5))


def test_fit_recovers_coefficients_through_noise_and_bootstrap_covers_them():
    rng = np.random.default_rng(0)
    d = best_of_n_distance(np.arange(1, 33))
    per_prompt = d * (2.0 - 0.8 * d) + rng.normal(0, 0.3, size=(400, d.size))
    fit = fit_gold_curve(d, per_prompt.mean(axis=0))
    assert fit.alpha == pytest.approx(2.0, abs=0.1)
    assert fit.beta == pytest.approx(0.8, abs=0.1)
    boot = bootstrap_fits(d, per_prompt, samples=300)
    assert boot["alpha"][0] < 2.0 < boot["alpha"][1]
    assert boot["beta"][0] < 0.8 < boot["beta"][1]
    assert boot["peak_distance"][0] < 1.25 < boot["peak_distance"][1]


def test_a_curve_that_never_turns_down_has_no_predicted_peak():
    d = best_of_n_distance(np.arange(1, 17))
    fit = fit_gold_curve(d, d * (1.0 + 0.2 * d))
    assert fit.beta < 0 and fit.peak_distance is None and fit.peak_n is None
    boot = bootstrap_fits(d, np.tile(d * (1.0 + 0.2 * d), (20, 1)), samples=50)
    assert boot["peak_distance"] == [None, None] and boot["share_turning_down"] == 0.0
