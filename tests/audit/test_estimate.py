"""Flip-share estimates on hand-made probabilities."""

import numpy as np
import pytest

from rewardkit.audit.estimate import (
    ANCHOR_SHARE,
    MIN_ANCHORS,
    MIN_GROUP,
    anchor_flip_share,
    bootstrap_interval,
    confident_flip_share,
    flip_estimates,
    group_estimates,
    validation,
)
from rewardkit.bradley_terry import sigmoid


def planted_pairs(n: int, flip_rate: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs whose out-of-fold models rank every pair the right way round with strength
    ``s ~ |N(0, 2)|``; the annotator's label agrees with them with probability σ(2s)
    (Bradley–Terry: close calls go either way), then ``flip_rate`` of the labels are flipped
    uniformly (planted). A label against the models turns the margin's sign: returns
    ``p_right = σ(±s)`` and which pairs were flipped."""
    rng = np.random.default_rng(seed)
    strength = np.abs(rng.normal(0.0, 2.0, n))
    annotator_right = rng.random(n) < sigmoid(2.0 * strength)
    flipped = np.zeros(n, bool)
    flipped[rng.choice(n, int(round(flip_rate * n)), replace=False)] = True
    label_right = annotator_right ^ flipped
    return sigmoid(np.where(label_right, strength, -strength)), flipped


def test_confident_learning_counts_the_confidently_wrong():
    """80 pairs at P(right) 0.9 and 20 at 0.1: t = mean = 0.74; 1 − 0.1 = 0.9 ≥ t counts the 20
    as wrong, 0.9 ≥ t the 80 as right: 20 / (20 + 80) = 20%."""
    p = np.r_[np.full(80, 0.9), np.full(20, 0.1)]
    assert confident_flip_share(p) == pytest.approx(0.2)


def test_confident_learning_leaves_out_the_pairs_it_is_unsure_of():
    """60 at 0.9, 20 at 0.55, 20 at 0.1: t = (54 + 11 + 2) / 100 = 0.67. Wrong: 1 − p ≥ 0.67,
    the 20 at 0.1; right: p ≥ 0.67, the 60 at 0.9; the 20 at 0.55 are neither and are left
    out (Northcutt et al. 2021, eq. 3): 20 / 80 = 25%, not 20 / 100."""
    p = np.r_[np.full(60, 0.9), np.full(20, 0.55), np.full(20, 0.1)]
    assert confident_flip_share(p) == pytest.approx(0.25)


def test_anchor_estimate_recovers_a_planted_flip_rate():
    """4,000 pairs with 15% planted flips and Bradley–Terry annotators who err on E[σ(−2s)] ≈
    12.9% of the pairs: 0.15 + 0.7 · 0.129 ≈ 24% of the labels are against the models. Among
    the 800 pairs the models are surest of (s above the 80th percentile of |N(0, 2)|, ≈ 2.56)
    the annotators err on ≈ 0.2%, so 0.15 + 0.7 · 0.002 ≈ 15.1% are against them: the planted
    share within sampling error (sd ≈ 1.3 points)."""
    p, flipped = planted_pairs(4000, 0.15)
    assert np.mean(p < 0.5) > 0.2  # the annotators' close calls add many more
    assert anchor_flip_share(p) == pytest.approx(flipped.mean(), abs=0.04)
    low, high = bootstrap_interval(p, anchor_flip_share, draws=200)
    assert low <= flipped.mean() <= high


def test_anchor_estimate_of_clean_labels_is_near_zero():
    p, flipped = planted_pairs(2000, 0.0, seed=1)
    assert not flipped.any()
    assert anchor_flip_share(p) < 0.02


def test_anchor_estimate_refuses_too_few_pairs():
    """149 pairs give 29 anchors (a fifth, rounded down), under the 30 the estimate needs: it
    raises, naming the 150 pairs that would do; flip_estimates reports why, with no number."""
    too_few = int(np.ceil(MIN_ANCHORS / ANCHOR_SHARE)) - 1
    p, _ = planted_pairs(too_few, 0.2)
    with pytest.raises(ValueError, match=f"needs at least {MIN_ANCHORS}"):
        anchor_flip_share(p)
    result = flip_estimates(p, p < 0.3)
    assert result["estimated_flip_share"] is None and result["estimated_flip_share_ci95"] is None
    assert f"{too_few} pairs" in result["why_not"]
    assert result["share_negative"] == pytest.approx(np.mean(p < 0.5))


def test_estimates_carry_intervals_that_hold_them():
    rng = np.random.default_rng(0)
    p = np.clip(np.r_[rng.normal(0.8, 0.1, 400), rng.normal(0.25, 0.1, 100)], 0.01, 0.99)
    result = flip_estimates(p, p < 0.3)
    assert result["n"] == 500 and result["anchor_pairs"] == 100
    keys = ("share_negative", "share_confident_negative", "estimated_flip_share")
    for key in (*keys, "confident_learning"):
        low, high = result[f"{key}_ci95"]
        assert low <= result[key] <= high and high - low < 0.2
    assert result["share_negative"] == pytest.approx(np.mean(p < 0.5))


def test_validation_names_the_mode():
    assert validation("finetune")["validated"]
    frozen = validation("frozen")
    assert not frozen["validated"] and "not validated" in frozen["note"]


def test_groups_need_enough_pairs():
    p = np.r_[np.full(MIN_GROUP, 0.9), np.full(MIN_GROUP - 1, 0.2)]
    names = ["a"] * MIN_GROUP + ["b"] * (MIN_GROUP - 1)
    groups = group_estimates(p, p < 0.3, names)
    assert list(groups) == ["a"] and groups["a"]["share_negative"] == 0.0
    assert groups["a"]["estimated_flip_share"] is None  # 20 pairs: too few anchors
    assert group_estimates(p, p < 0.3, [None] * len(p)) == {}
