"""Flip-share estimates on hand-made probabilities."""

import numpy as np
import pytest

from rewardkit.audit.estimate import (
    MIN_GROUP,
    confident_flip_share,
    flip_estimates,
    group_estimates,
)


def test_confident_learning_counts_the_confidently_wrong():
    """80 pairs at P(right) 0.9 and 20 at 0.1: t = mean = 0.74; 1 − 0.1 = 0.9 ≥ t counts the 20,
    1 − 0.9 = 0.1 does not: 20%."""
    p = np.r_[np.full(80, 0.9), np.full(20, 0.1)]
    assert confident_flip_share(p) == pytest.approx(0.2)


def test_a_weak_model_gives_no_confident_count_when_everything_is_right():
    """All pairs at 0.6: t = 0.6 and 1 − 0.6 = 0.4 < t, so nothing is counted."""
    assert confident_flip_share(np.full(50, 0.6)) == 0.0


def test_estimates_carry_intervals_that_hold_them():
    rng = np.random.default_rng(0)
    p = np.clip(np.r_[rng.normal(0.8, 0.1, 400), rng.normal(0.25, 0.1, 100)], 0.01, 0.99)
    result = flip_estimates(p, p < 0.3)
    assert result["n"] == 500
    for key in ("share_negative", "share_confident_negative", "estimated_flip_share"):
        low, high = result[f"{key}_ci95"]
        assert low <= result[key] <= high and high - low < 0.15
    assert result["share_negative"] == pytest.approx(np.mean(p < 0.5))


def test_groups_need_enough_pairs():
    p = np.r_[np.full(MIN_GROUP, 0.9), np.full(MIN_GROUP - 1, 0.2)]
    names = ["a"] * MIN_GROUP + ["b"] * (MIN_GROUP - 1)
    groups = group_estimates(p, p < 0.3, names)
    assert list(groups) == ["a"] and groups["a"]["share_negative"] == 0.0
    assert group_estimates(p, p < 0.3, [None] * len(p)) == {}
