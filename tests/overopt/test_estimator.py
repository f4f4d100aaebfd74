"""The best-of-n estimator against brute force, its tie rule, and the KL axis."""

import math
from itertools import combinations

import numpy as np
import pytest

from rewardkit.overopt.curves import best_of_n_distance, n_at_distance
from rewardkit.overopt.estimator import best_of_n_weights, expected_best_of_n


def brute_force(scores, values, n):
    """Mean over every size-n subset of the value of its highest-scored member; a tie inside
    a subset is split evenly among the tied members (the documented tie rule)."""
    totals = []
    for subset in combinations(range(len(scores)), n):
        top = max(scores[i] for i in subset)
        tied = [values[i] for i in subset if scores[i] == top]
        totals.append(sum(tied) / len(tied))
    return sum(totals) / len(totals)


@pytest.mark.parametrize("big_n", [2, 3, 5, 8])
def test_estimator_equals_enumeration_of_all_subsets(big_n):
    rng = np.random.default_rng(big_n)
    scores, values = rng.normal(size=big_n), rng.normal(size=big_n)
    expected = [brute_force(scores, values, n) for n in range(1, big_n + 1)]
    np.testing.assert_allclose(expected_best_of_n(scores, values), expected, rtol=0, atol=1e-12)


def test_ties_count_as_a_uniform_random_pick():
    # scores 1, 2, 2 with values 0, 10, 20: best-of-3 always holds both 2s → (10 + 20)/2 = 15;
    # best-of-2: {0,1} → 10, {0,2} → 20, {1,2} → 15 → 15; best-of-1: mean 10.
    scores, values = np.array([1.0, 2.0, 2.0]), np.array([0.0, 10.0, 20.0])
    np.testing.assert_allclose(expected_best_of_n(scores, values), [10.0, 15.0, 15.0])
    # the order of the input does not matter
    np.testing.assert_allclose(expected_best_of_n(scores[::-1], values[::-1]), [10.0, 15.0, 15.0])
    rng = np.random.default_rng(0)
    scores, values = rng.integers(0, 3, size=7).astype(float), rng.normal(size=7)
    for n in range(1, 8):
        assert expected_best_of_n(scores, values)[n - 1] == pytest.approx(
            brute_force(scores, values, n), abs=1e-12
        )


def test_weights_are_the_binomial_ratio_and_stable_for_large_n():
    # N = 4, n = 2: C(i−1, 1)/C(4, 2) = (0, 1, 2, 3)/6
    np.testing.assert_allclose(best_of_n_weights(4)[1], [0, 1 / 6, 2 / 6, 3 / 6])
    big = best_of_n_weights(2000)
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big.sum(axis=1), 1.0, atol=1e-9)
    exact = math.comb(1999, 9) / math.comb(2000, 10)
    assert big[9, 1999] == pytest.approx(exact, rel=1e-9)


def test_kl_formula_and_its_inverse():
    # KL_bon = log n − (n − 1)/n: 0 at n = 1, log 2 − 1/2 at n = 2, log 16 − 15/16 at 16
    d = best_of_n_distance(np.array([1, 2, 16]))
    np.testing.assert_allclose(d**2, [0.0, math.log(2) - 0.5, math.log(16) - 15 / 16])
    for n in (1.0, 2.0, 7.5, 16.0, 300.0):
        assert n_at_distance(math.sqrt(math.log(n) - (n - 1) / n)) == pytest.approx(n, rel=1e-7)
