"""Simulated annotators: P(A≻B) = σ((g(A) + b·f(A) − g(B) − b·f(B)) / τ)."""

import math

import numpy as np
import pytest

from rewardkit.world import Annotator, make_annotators


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_prob_prefers_formula():
    """τ=0.5, b=1.25: gold 2 vs 1 -> σ(1/0.5)=σ(2);
    flattering B -> σ((2 - 1 - 1.25)/0.5)=σ(-0.5)."""
    ann = Annotator("a", tau=0.5, flattery_bias=1.25)
    assert ann.prob_prefers(2.0, 1.0, False, False) == pytest.approx(sig(2.0))
    assert ann.prob_prefers(2.0, 1.0, False, True) == pytest.approx(sig(-0.5))
    assert ann.prob_prefers(2.0, 1.0, True, True) == pytest.approx(sig(2.0))
    assert ann.perceived_reward(1.0, True) == 2.25


@pytest.mark.parametrize(
    "delta,tau,flat_a",
    [(0.5, 0.3, False), (0.5, 1.0, False), (-1.0, 0.65, False), (-1.0, 0.65, True)],
)
def test_empirical_preference_rate_matches_bradley_terry(delta, tau, flat_a):
    ann = Annotator("a", tau=tau, flattery_bias=1.25)
    rng = np.random.default_rng(123)
    n = 20000
    wins = sum(ann.judge(rng, delta, 0.0, flat_a, False) for _ in range(n))
    expected = sig((delta + 1.25 * flat_a) / tau)
    # binomial standard error <= 0.0036; allow about 4 of them
    assert wins / n == pytest.approx(expected, abs=0.015)


def test_make_annotators_spaces_tau_evenly():
    anns = make_annotators(5, (0.3, 1.0), 1.25)
    assert [a.tau for a in anns] == pytest.approx([0.3, 0.475, 0.65, 0.825, 1.0])
    assert {a.flattery_bias for a in anns} == {1.25}
    assert len({a.name for a in anns}) == 5
    assert make_annotators(1, (0.4, 0.6), 0.0)[0].tau == pytest.approx(0.5)
