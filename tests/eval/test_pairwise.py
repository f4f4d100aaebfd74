"""Pairwise metrics on hand-made rewards (arithmetic in each docstring)."""

import math

import numpy as np
import pytest

from rewardkit.bradley_terry import Calibration
from rewardkit.eval.pairwise import accuracy_block, bootstrap_ci, pairwise_metrics

# Five pairs: Δ = r_c − r_r = [1, 0, −1, 0.5, 3]; the last is a labelled tie, the 4th was
# prompt-truncated. Subsets a, a, b, b, b.
R_C = [2.0, 1.0, 0.0, 0.5, 3.0]
R_R = [1.0, 1.0, 1.0, 0.0, 0.0]
TIE = [False, False, False, False, True]
SUBSET = ["a", "a", "b", "b", "b"]
TRUNCATED = [False, False, False, True, False]


@pytest.fixture
def metrics():
    return pairwise_metrics(R_C, R_R, tie=TIE, subset=SUBSET, truncated=TRUNCATED)


def test_accuracy_is_strict_and_excludes_ties(metrics):
    """Non-tie Δ = [1, 0, −1, 0.5]: correct only when Δ > 0 → [1, 0, 0, 1] → 2/4 = 0.5
    (the Δ = 0 pair is wrong, the tie with Δ = 3 is left out and counted)."""
    assert metrics["n"] == 4 and metrics["accuracy"] == 0.5 and metrics["ties"] == 1


def test_margin_and_bt_loss(metrics):
    """mean Δ = (1 + 0 − 1 + 0.5)/4 = 0.125; BT loss = mean log(1 + e^{−Δ}) =
    (0.313262 + 0.693147 + 1.313262 + 0.474077)/4 = 0.698437."""
    assert metrics["mean_margin"] == pytest.approx(0.125)
    assert metrics["bt_loss"] == pytest.approx(0.698437, abs=1e-6)


def test_bt_loss_uses_the_calibration():
    """T = 2, Δ = [1, −1]: (log(1 + e^{−0.5}) + log(1 + e^{0.5}))/2
    = (0.474077 + 0.974077)/2 = 0.724077. With γ = 2 as well, z = ±(1/2)² = ±0.25:
    (log(1 + e^{−0.25}) + log(1 + e^{0.25}))/2 = (0.575939 + 0.825939)/2 = 0.700939."""
    r_c, r_r = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    block = accuracy_block(r_c, r_r, calibration=Calibration(2.0), ci=False)
    assert block["bt_loss"] == pytest.approx(0.724077, abs=1e-6)
    assert "accuracy_ci95" not in block
    bent = accuracy_block(r_c, r_r, calibration=Calibration(2.0, 2.0), ci=False)
    assert bent["bt_loss"] == pytest.approx(0.700939, abs=1e-6)


def test_fits_max_length_leaves_out_truncated_pairs(metrics):
    """Non-tie, not truncated: Δ = [1, 0, −1] → n 3, accuracy 1/3."""
    assert metrics["fits_max_length"]["n"] == 3
    assert metrics["fits_max_length"]["accuracy"] == pytest.approx(1 / 3)


def test_per_subset_accuracy(metrics):
    """a: Δ = [1, 0] → 1/2; b: Δ = [−1, 0.5] (its tie left out) → 1/2, n 2 each."""
    assert set(metrics["per_subset"]) == {"a", "b"}
    assert metrics["per_subset"]["a"]["n"] == 2 and metrics["per_subset"]["a"]["accuracy"] == 0.5
    assert metrics["per_subset"]["b"]["n"] == 2
    assert metrics["per_subset"]["b"]["mean_margin"] == pytest.approx(-0.25)


def test_no_per_subset_block_without_subsets():
    metrics = pairwise_metrics(
        [1.0, 2.0], [0.0, 3.0], tie=[False, False], subset=[None, None], truncated=[False, False]
    )
    assert "per_subset" not in metrics and metrics["accuracy"] == 0.5


def test_reward_mean_and_std_cover_every_reward(metrics):
    """All 10 rewards, ties included: mean (6.5 + 3)/10 = 0.95."""
    everything = np.array(R_C + R_R)
    assert metrics["reward_mean"] == pytest.approx(0.95)
    assert metrics["reward_std"] == pytest.approx(everything.std())


def test_bootstrap_interval_contains_the_accuracy(metrics):
    low, high = metrics["accuracy_ci95"]
    assert 0.0 <= low <= metrics["accuracy"] <= high <= 1.0 and low < high


def test_bootstrap_is_seeded_and_shrinks_with_more_pairs():
    """Same seed, same interval; 40 pairs at 70% give a narrower interval than 10 at 70%."""
    small = np.array([1.0] * 7 + [0.0] * 3)
    assert bootstrap_ci(small) == bootstrap_ci(small)
    big = np.tile(small, 4)
    assert np.diff(bootstrap_ci(big))[0] < np.diff(bootstrap_ci(small))[0]
    assert bootstrap_ci(np.ones(5)) == (1.0, 1.0)
    assert all(math.isnan(x) for x in bootstrap_ci(np.array([])))


def test_only_ties_give_an_empty_block():
    metrics = pairwise_metrics([1.0], [0.0], tie=[True], subset=[None], truncated=[False])
    assert metrics["n"] == 0 and metrics["accuracy"] is None and metrics["ties"] == 1
