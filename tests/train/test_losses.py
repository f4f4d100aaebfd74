"""Preference losses, checked against values computed by hand (written in each docstring)."""

import math

import pytest
import torch

from rewardkit.train.losses import (
    Objective,
    bradley_terry_loss,
    centering_penalty,
    davidson_loss,
    preference_loss,
    weighted_mean,
)

LOG2 = math.log(2.0)


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_bradley_terry_loss():
    """Δ = r_c − r_r = [2, 0, −1] → −log σ(Δ) = log(1 + e^{−Δ}) = [0.126928, log 2, 1.313262]."""
    loss = bradley_terry_loss(t(2.0, 0.5, -1.0), t(0.0, 0.5, 0.0))
    torch.testing.assert_close(loss, t(math.log1p(math.exp(-2)), LOG2, math.log1p(math.e)))
    assert loss[0].item() == pytest.approx(0.126928, abs=1e-6)


def test_bradley_terry_loss_subtracts_the_margin():
    """Δ = [2, 0], m = [1, −1] → Δ − m = [1, 1] → log(1 + e^{−1}) = 0.313262 for both."""
    loss = bradley_terry_loss(t(2.0, 0.0), t(0.0, 0.0), margin=t(1.0, -1.0))
    torch.testing.assert_close(loss, t(0.313262, 0.313262), atol=1e-6, rtol=0)


def test_bradley_terry_label_smoothing():
    """ε = 0.1, Δ = 2: 0.9·log(1 + e^{−2}) + 0.1·log(1 + e^{2}) = 0.114235 + 0.212693 = 0.326928;
    at Δ = 0 smoothing changes nothing (log 2)."""
    loss = bradley_terry_loss(t(2.0, 0.0), t(0.0, 0.0), label_smoothing=0.1)
    torch.testing.assert_close(loss, t(0.326928, LOG2), atol=1e-6, rtol=0)


def test_davidson_win_and_tie_rows():
    """ν = 1, Δ = 2: Z = e^{1} + e^{−1} + 1 = 4.086161; win −log(e/Z) = log Z − 1 = 0.407606,
    tie −log(1/Z) = 1.407606. Δ = 0: Z = 3, both rows log 3 = 1.098612."""
    loss = davidson_loss(
        t(2.0, 2.0, 0.0, 0.0),
        t(0.0, 0.0, 0.0, 0.0),
        tie=torch.tensor([False, True, False, True]),
        nu=1.0,
    )
    torch.testing.assert_close(
        loss, t(0.407606, 1.407606, math.log(3), math.log(3)), atol=1e-6, rtol=0
    )


def test_davidson_with_nu_zero_is_bradley_terry():
    """ν = 0: e^{Δ/2} / (e^{Δ/2} + e^{−Δ/2}) = σ(Δ), so win rows equal the BT loss (margins too)."""
    r_c, r_r, margin = t(2.0, -0.5, 1.0), t(0.0, 0.5, 1.5), t(0.5, 0.0, -1.0)
    no_tie = torch.zeros(3, dtype=torch.bool)
    torch.testing.assert_close(
        davidson_loss(r_c, r_r, no_tie, nu=0.0, margin=margin), bradley_terry_loss(r_c, r_r, margin)
    )


def test_centering_penalty():
    """(r_c + r_r)²: (1 + 0.5)² = 2.25, (−2 + 1)² = 1."""
    torch.testing.assert_close(centering_penalty(t(1.0, -2.0), t(0.5, 1.0)), t(2.25, 1.0))


def test_weighted_mean():
    """Σ w·v / Σ w with v = [1, 2, 3, 4], w = [1/3, 1/3, 1/3, 1]: (1/3 + 2/3 + 1 + 4) / 2 = 3,
    not the unweighted 2.5."""
    assert weighted_mean(t(1, 2, 3, 4), t(1 / 3, 1 / 3, 1 / 3, 1)).item() == pytest.approx(3.0)
    assert weighted_mean(t(1, 2, 3, 4), t(1, 1, 1, 1)).item() == pytest.approx(2.5)


def test_preference_loss_weights_ranking_pairs():
    """A ranking of 3 replies gives 3 pairs of weight 1/C(3,2) = 1/3, plus one plain pair.
    Δ = [0, 0, 0, 2] → per pair [log 2, log 2, log 2, 0.126928];
    weighted: (log 2 + 0.126928) / 2 = 0.410038; unweighted would be
    (3 log 2 + 0.126928) / 4 = 0.551592."""
    r_c, r_r = t(0.0, 0.0, 0.0, 2.0), t(0.0, 0.0, 0.0, 0.0)
    common = dict(margin=t(0, 0, 0, 0), tie=torch.zeros(4, dtype=torch.bool))
    weighted = preference_loss(r_c, r_r, weight=t(1 / 3, 1 / 3, 1 / 3, 1), **common)
    uniform = preference_loss(r_c, r_r, weight=t(1, 1, 1, 1), **common)
    assert weighted.item() == pytest.approx(0.410038, abs=1e-6)
    assert uniform.item() == pytest.approx(0.551592, abs=1e-6)


def test_preference_loss_adds_weighted_centering():
    """Δ = 0 for both pairs (loss log 2), r_c + r_r = [2, 0] → penalty [4, 0], weights [1, 3]:
    log 2 + 0.1·(4·1 + 0·3)/4 = 0.693147 + 0.1 = 0.793147."""
    loss = preference_loss(
        t(1.0, 0.0),
        t(1.0, 0.0),
        margin=t(0, 0),
        tie=torch.zeros(2, dtype=torch.bool),
        weight=t(1, 3),
        objective=Objective(center_coef=0.1),
    )
    assert loss.item() == pytest.approx(LOG2 + 0.1, abs=1e-6)


def test_preference_loss_uses_davidson_for_ties():
    """ties="davidson", ν = 1: a tie at Δ = 0 costs log 3 = 1.098612 (BT would give log 2)."""
    args = dict(margin=t(0.0), tie=torch.tensor([True]), weight=t(1.0))
    davidson = preference_loss(t(0.0), t(0.0), objective=Objective(ties="davidson"), **args)
    assert davidson.item() == pytest.approx(math.log(3), abs=1e-6)
    assert preference_loss(t(0.0), t(0.0), **args).item() == pytest.approx(LOG2)


def test_preference_loss_ignores_the_margin_when_told():
    """Δ = 0 with margin 1: −log σ(−1) = 1.313262 with the margin, log 2 without."""
    args = dict(margin=t(1.0), tie=torch.tensor([False]), weight=t(1.0))
    assert preference_loss(t(0.0), t(0.0), **args).item() == pytest.approx(1.313262, abs=1e-6)
    unused = preference_loss(t(0.0), t(0.0), objective=Objective(use_margin=False), **args)
    assert unused.item() == pytest.approx(LOG2)


def test_losses_have_gradients():
    """d/dr_c of −log σ(r_c − r_r) at Δ = 0 is −σ(0) = −0.5."""
    r_c = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    bradley_terry_loss(r_c, t(0.0)).sum().backward()
    assert r_c.grad.item() == pytest.approx(-0.5)


def test_soft_label_is_binary_cross_entropy_with_a_soft_target():
    """p = 0.7, Δ = 2: 0.7·log(1 + e^{−2}) + 0.3·log(1 + e^{2}) = 0.088850 + 0.638079 = 0.726929;
    p = 0.5 at Δ = 0 is log 2; p = 1 equals the hard loss."""
    loss = bradley_terry_loss(t(2.0, 0.0, 1.0), t(0.0, 0.0, 0.0), label=t(0.7, 0.5, 1.0))
    torch.testing.assert_close(loss, t(0.726929, LOG2, math.log1p(math.exp(-1))), atol=1e-6, rtol=0)


def test_soft_label_zero_is_the_flipped_pair():
    """p = 0 scores the pair as if chosen and rejected were swapped: loss(Δ, p=0) = loss(−Δ)."""
    r_c, r_r = t(1.5, -0.25), t(0.0, 0.75)
    flipped = bradley_terry_loss(r_c, r_r, label=t(0.0, 0.0))
    torch.testing.assert_close(flipped, bradley_terry_loss(r_r, r_c))


def test_preference_loss_passes_soft_labels():
    """Weights [1, 3], p = [0.7, 1], Δ = [2, 0]: (0.726929 + 3·log 2) / 4 = 0.701573."""
    loss = preference_loss(
        t(2.0, 0.0),
        t(0.0, 0.0),
        margin=t(0.0, 0.0),
        tie=torch.tensor([False, False]),
        weight=t(1.0, 3.0),
        label=t(0.7, 1.0),
    )
    assert loss.item() == pytest.approx((0.726929 + 3 * LOG2) / 4, abs=1e-6)
