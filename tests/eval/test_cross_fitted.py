"""Cross-fitted calibration: out-of-fold calibrators, auto's choice between the temperature
and the power form, the ECE's interval, the noise floor."""

import numpy as np
import pytest

from rewardkit.eval.calibration import expected_calibration_error
from rewardkit.eval.cross_fitted import cross_fitted_report, noise_floor, separate_data_report


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
    report = cross_fitted_report(delta, groups=list(range(delta.size)), calibrator="temperature")
    before, after = report["before"], report["after"]
    assert before["ece"] > after["noise_floor"]["band90"][1] + 0.05
    folds = after["fold_calibrations"]
    assert report["folds"] == len(folds) == 5
    assert all(3.3 < c["temperature"] < 4.8 and c["exponent"] == 1.0 for c in folds)
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
    assert all(len(block["fold_calibrations"]) == 5 for block in report["forms"].values())
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


def power_margins(n: int, temperature: float, exponent: float, seed: int = 0) -> np.ndarray:
    """Δ of a model whose true log-odds are z = (|Δ|/T)^γ (|Δ| log-normal): the favoured side
    is the chosen one with probability σ(z)."""
    rng = np.random.default_rng(seed)
    size = np.exp(rng.normal(0.3, 0.8, n))
    favoured = rng.random(n) < 1 / (1 + np.exp(-((size / temperature) ** exponent)))
    return np.where(favoured, size, -size)


def test_auto_stores_the_power_form_where_it_is_the_truth():
    """Data from T = 2, γ = 0.5: out of fold the power form's NLL is lower (here by a paired
    interval below 0), so auto stores it (fitted on all pairs, γ near 0.5); the report holds
    both forms' held-out ECE with intervals, NLL, Brier and the paired differences."""
    delta = power_margins(3000, 2.0, 0.5)
    report = cross_fitted_report(delta, groups=list(range(delta.size)))
    assert report["calibrator"] == "auto" and report["form"] == "power"
    assert 0.35 < report["exponent"] < 0.7 and "predicts held-out pairs better" in report["why"]
    nll = report["power_minus_temperature"]["nll"]
    assert nll["ci95"][1] < 0 and nll["excludes_zero"]
    forms = report["forms"]
    assert set(forms) == {"temperature", "power"}
    assert nll["difference"] == pytest.approx(forms["power"]["nll"] - forms["temperature"]["nll"])
    brier = report["power_minus_temperature"]["brier"]
    assert brier["difference"] == pytest.approx(
        forms["power"]["brier"] - forms["temperature"]["brier"]
    )
    for block in forms.values():
        assert block["ece_ci95"][0] <= block["ece"] <= block["ece_ci95"][1]
    after = report["after"]  # the stored form's held-out block, with its noise floor
    assert after["ece"] == forms["power"]["ece"] and "noise_floor" in after
    assert all(c["exponent"] < 0.7 for c in after["fold_calibrations"])


def test_auto_keeps_the_temperature_where_it_is_the_truth():
    """Data from the temperature model (γ = 1, rewards 4× too sharp): the power form's extra
    parameter costs held-out NLL, so the simpler temperature is stored, with γ = 1."""
    delta = simulated_margins(3000, scale=4.0, seed=3)
    report = cross_fitted_report(delta, groups=list(range(delta.size)))
    assert report["form"] == "temperature" and report["exponent"] == 1.0
    assert report["power_minus_temperature"]["nll"]["difference"] >= 0
    assert "simpler temperature" in report["why"]
    assert report["after"]["ece"] == report["forms"]["temperature"]["ece"]


def test_one_named_form_is_fitted_alone():
    delta = power_margins(600, 2.0, 0.5)
    report = cross_fitted_report(delta, list(range(delta.size)), calibrator="power")
    assert set(report["forms"]) == {"power"} and "power_minus_temperature" not in report
    assert report["form"] == "power" and report["why"] == "--calibrator power"


def test_calibration_data_takes_the_same_choice():
    """``--calibration-data``: both forms fitted on one file, judged on the other's pairs."""
    fit_on, test_on = power_margins(3000, 2.0, 0.5, seed=1), power_margins(3000, 2.0, 0.5, seed=2)
    report = separate_data_report(fit_on, test_on, fitted_on="A", tested_on="B")
    assert report["form"] == "power" and report["method"] == "separate data"
    power = report["forms"]["power"]
    assert (power["temperature"], power["exponent"]) == (report["temperature"], report["exponent"])
    assert report["after"]["nll"] < report["before"]["nll"]
