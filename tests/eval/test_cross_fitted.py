"""Cross-fitted calibration: out-of-fold temperatures, the ECE's interval, the noise floor."""

import numpy as np
import pytest

from rewardkit.eval.calibration import expected_calibration_error
from rewardkit.eval.cross_fitted import cross_fitted_report, noise_floor


def simulated_margins(n: int, scale: float, seed: int = 0) -> np.ndarray:
    """Δ of a model whose true log-odds are z ~ N(0, 1.5²) but which reports ``scale``·z: the
    favoured side is the chosen one with probability σ(z), so Δ = ±scale·|z|."""
    rng = np.random.default_rng(seed)
    z = np.abs(rng.normal(0, 1.5, n))
    chosen_is_favoured = rng.random(n) < 1 / (1 + np.exp(-z))
    return np.where(chosen_is_favoured, 1.0, -1.0) * scale * z


def test_an_overconfident_model_is_repaired_out_of_fold():
    """Rewards 4× too sharp: at T = 1 the ECE is far above the noise floor; out of fold the
    fitted temperatures are near 4 and the ECE falls within the floor."""
    delta = simulated_margins(1500, scale=4.0)
    report = cross_fitted_report(delta, groups=list(range(delta.size)))
    before, after = report["before"], report["after"]
    assert before["ece"] > after["noise_floor"]["band90"][1] + 0.05
    assert report["folds"] == 5 and all(3.3 < t < 4.8 for t in after["fold_temperatures"])
    assert after["within_noise_floor"] and after["ece"] < before["ece"] / 3
    assert after["ece_ci95"][0] <= after["ece"] <= after["ece_ci95"][1]
    assert report["n_fit"] == report["n_test"] == delta.size
    assert 3.3 < report["temperature"] < 4.8


def test_every_pair_is_scored_by_a_temperature_fitted_without_its_prompt():
    """Two prompts' pairs (each repeated) with very different sharpness: pairs of one prompt
    share a fold, so none of them helped fit the temperature that scores them."""
    delta = simulated_margins(500, scale=1.0)
    groups = [i // 25 for i in range(delta.size)]  # 20 prompts of 25 pairs
    report = cross_fitted_report(delta, groups=groups)
    assert len(report["after"]["fold_temperatures"]) == 5
    assert report["after"]["n"] == delta.size


def test_the_noise_floor_is_what_a_calibrated_model_shows():
    """A calibrated model's measured ECE sits inside its own noise floor's band in most
    draws (≥ 80% of 20 data sets at 90% bands), and the floor shrinks with more pairs."""
    inside = 0
    for seed in range(20):
        delta = simulated_margins(400, scale=1.0, seed=seed)
        floor = noise_floor(delta, np.random.default_rng(seed), 10, "equal-mass", runs=300)
        inside += floor["band90"][0] <= expected_calibration_error(delta) <= floor["band90"][1]
    assert inside >= 16
    rng = np.random.default_rng(0)
    small = noise_floor(simulated_margins(200, 1.0), rng, 10, "equal-mass", runs=300)
    large = noise_floor(simulated_margins(4000, 1.0), rng, 10, "equal-mass", runs=100)
    assert large["median"] < small["median"] / 3


@pytest.mark.parametrize("binning", ["equal-mass", "equal-width"])
def test_both_binnings(binning):
    report = cross_fitted_report(simulated_margins(300, 2.0), list(range(300)), binning=binning)
    assert report["after"]["noise_floor"]["median"] > 0
