"""The one preference formula: P(a ≻ b) = σ(sign(Δ)·|Δ/T|^γ), by hand."""

import math

import numpy as np
import pytest

from rewardkit.bradley_terry import (
    Calibration,
    calibrated_logit,
    preference_probability,
    sigmoid,
)

DELTA = np.array([-7.5, -2.0, -0.3, 0.0, 1e-9, 0.4, 1.0, 3.0, 40.0])


@pytest.mark.parametrize("temperature", [0.37, 1.0, 2.5])
def test_an_exponent_of_one_is_the_temperature_bit_for_bit(temperature):
    """γ = 1: sign(x)·|x|¹ = x exactly, so P = σ(Δ/T) to the last bit — a model calibrated
    before the exponent existed gives the same probabilities as it did."""
    expected = sigmoid(DELTA / temperature)
    assert np.array_equal(preference_probability(DELTA, temperature, 1.0), expected)
    assert np.array_equal(preference_probability(DELTA, temperature), expected)
    assert np.array_equal(Calibration(temperature).probability(DELTA), expected)


def test_the_power_form_by_hand():
    """T = 2, γ = 0.5: Δ = 8 → z = √4 = 2; Δ = −0.5 → z = −√0.25 = −0.5; Δ = 0 → ½."""
    assert calibrated_logit(8.0, 2.0, 0.5) == pytest.approx(2.0, abs=1e-15)
    assert calibrated_logit(-0.5, 2.0, 0.5) == pytest.approx(-0.5, abs=1e-15)
    assert preference_probability(8.0, 2.0, 0.5) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert preference_probability(0.0, 2.0, 0.5) == 0.5
    assert isinstance(preference_probability(8.0, 2.0, 0.5), float)


@pytest.mark.parametrize("temperature,exponent", [(1.0, 1.0), (0.7, 0.4), (3.0, 1.8)])
def test_the_order_of_a_pair_never_matters(temperature, exponent):
    """p(−Δ) = 1 − p(Δ) for every (T, γ): the map is odd in Δ."""
    forward = preference_probability(DELTA, temperature, exponent)
    backward = preference_probability(-DELTA, temperature, exponent)
    assert forward + backward == pytest.approx(np.ones_like(DELTA), abs=1e-15)
    assert np.all(np.diff(forward) >= 0)  # and monotone: ranking by reward is kept


def test_a_calibration_from_saved_fields():
    """None (an uncalibrated or older folder) is 1; the label shows γ only when it bends."""
    assert Calibration.stored(None, None) == Calibration(1.0, 1.0)
    assert Calibration.stored(1.5, None) == Calibration(1.5, 1.0)
    assert Calibration(1.5).label() == "T = 1.5"
    assert Calibration(1.5, 0.75).label() == "T = 1.5, γ = 0.75"
    assert Calibration(1.5).formula == "σ(Δ/T)"
    assert Calibration(1.5, 0.75).formula == "σ(sign(Δ)·|Δ/T|^γ)"
