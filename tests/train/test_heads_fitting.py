"""Linear BT heads on features: recovery of a known head, bootstrap members, L2 choice."""

import numpy as np
import pytest

from rewardkit.train.heads import (
    PairFeatures,
    choose_l2,
    fit_heads,
    fit_linear_head,
    heldout_loss,
    pair_spread,
)
from rewardkit.train.losses import Objective


def synthetic_pairs(n=600, h=8, seed=0, true_w=None):
    """Pairs labelled by a Bradley–Terry model with a known head ``true_w``."""
    rng = np.random.default_rng(seed)
    true_w = np.linspace(-1, 1, h) * 2 if true_w is None else true_w
    a, b = rng.normal(size=(n, h)), rng.normal(size=(n, h))
    a_wins = rng.random(n) < 1 / (1 + np.exp(-(a - b) @ true_w))
    chosen, rejected = np.where(a_wins[:, None], a, b), np.where(a_wins[:, None], b, a)
    return PairFeatures(chosen, rejected, np.zeros(n), np.zeros(n, bool), np.ones(n)), true_w


def test_fit_recovers_a_known_head():
    pairs, true_w = synthetic_pairs(n=3000)
    w, b = fit_linear_head(pairs, l2=1e-4)
    cosine = w @ true_w / np.linalg.norm(w) / np.linalg.norm(true_w)
    assert cosine > 0.98
    assert np.linalg.norm(w) == pytest.approx(np.linalg.norm(true_w), rel=0.15)
    texts = np.concatenate([pairs.chosen, pairs.rejected])
    assert np.mean(texts @ w + b) == pytest.approx(0.0, abs=1e-9)  # centred bias


def test_same_data_same_head_whatever_the_init():
    """The objective is convex: heads from different seeds on the same data coincide —
    why ensemble members need bootstrap resamples to disagree."""
    pairs, _ = synthetic_pairs(n=300)
    w0, _ = fit_linear_head(pairs, l2=1e-3, seed=0)
    w1, _ = fit_linear_head(pairs, l2=1e-3, seed=7)
    assert np.allclose(w0, w1, atol=1e-5)
    no_bootstrap = fit_heads(pairs, k=3, l2=1e-3, bootstrap=False)
    assert np.allclose(no_bootstrap.weight[0], no_bootstrap.weight[2], atol=1e-5)


def test_bootstrap_members_disagree_and_average_exactly():
    pairs, _ = synthetic_pairs(n=300)
    heads = fit_heads(pairs, k=4, l2=1e-3, seed=0)
    assert heads.k == 4
    assert np.linalg.norm(heads.weight[0] - heads.weight[1]) > 1e-2
    w, b = heads.mean_head()
    rewards = heads.member_rewards(pairs.chosen)
    assert np.allclose(rewards.mean(axis=0), pairs.chosen @ w + b)
    spread = pair_spread(heads, pairs.chosen, pairs.rejected)
    delta = heads.member_rewards(pairs.chosen) - heads.member_rewards(pairs.rejected)
    assert np.allclose(spread, delta.std(axis=0)) and spread.mean() > 0


def test_pair_spread_by_hand():
    """Heads w = (1, 0) and (0, 1); pair (chosen (2, 0), rejected (0, 0)): Δ = 2 and 0 →
    std (ddof 0) = 1."""
    from rewardkit.train.heads import LinearHeads

    heads = LinearHeads(np.eye(2), np.zeros(2), l2=0.0)
    assert pair_spread(heads, np.array([[2.0, 0.0]]), np.zeros((1, 2)))[0] == pytest.approx(1.0)


def test_l2_choice_prefers_more_penalty_on_noise():
    rng = np.random.default_rng(1)
    n, h = 80, 40
    noise = PairFeatures(
        rng.normal(size=(n, h)), rng.normal(size=(n, h)), np.zeros(n), np.zeros(n, bool), np.ones(n)
    )
    best, scores = choose_l2(noise)
    assert best == max(scores) and len(scores) == 4
    signal, _ = synthetic_pairs(n=2000, h=4)
    best_signal, _ = choose_l2(signal)
    assert best_signal < best


def test_margins_ties_and_weights_enter_the_objective():
    pairs, _ = synthetic_pairs(n=200)
    w, b = fit_linear_head(pairs, l2=1e-3)
    base = heldout_loss(pairs, w, b, Objective())
    with_margin = PairFeatures(
        pairs.chosen, pairs.rejected, np.full(200, 2.0), pairs.tie, pairs.weight
    )
    assert heldout_loss(with_margin, w, b, Objective()) > base
    assert heldout_loss(with_margin, w, b, Objective(use_margin=False)) == pytest.approx(base)
    ties = PairFeatures(
        pairs.chosen, pairs.rejected, pairs.margin, np.arange(200) % 4 == 0, pairs.weight
    )
    w_t, _ = fit_linear_head(ties, Objective(ties="davidson"), l2=1e-3)
    assert np.all(np.isfinite(w_t))
    zero_weight = np.ones(200)
    zero_weight[:100] = 0
    w_half, _ = fit_linear_head(pairs, l2=1e-3, sample_weight=zero_weight)
    w_sub, _ = fit_linear_head(pairs.subset(np.arange(100, 200)), l2=1e-3)
    assert np.allclose(w_half, w_sub, atol=1e-5)


def test_soft_labels_of_zero_fit_the_head_of_the_swapped_pairs():
    """P(c ≻ r) = 0 on every pair is the same likelihood as swapping chosen and rejected, so
    the fitted head is the swapped data's head; labels of 0.5 everywhere carry no direction."""
    pairs, _ = synthetic_pairs(n=400)
    zero = PairFeatures(
        *[getattr(pairs, k) for k in ("chosen", "rejected", "margin", "tie")],
        pairs.weight,
        np.zeros(len(pairs)),
    )
    swapped = PairFeatures(pairs.rejected, pairs.chosen, pairs.margin, pairs.tie, pairs.weight)
    w_zero, _ = fit_linear_head(zero, l2=1e-3)
    w_swap, _ = fit_linear_head(swapped, l2=1e-3)
    np.testing.assert_allclose(w_zero, w_swap, atol=1e-5)
    half = PairFeatures(
        pairs.chosen,
        pairs.rejected,
        pairs.margin,
        pairs.tie,
        pairs.weight,
        np.full(len(pairs), 0.5),
    )
    w_half, _ = fit_linear_head(half, l2=1e-3)
    assert np.linalg.norm(w_half) < 0.05 * np.linalg.norm(w_swap)
