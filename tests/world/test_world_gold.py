"""Gold reward formula and the metrics that compare against it (hand-computed values)."""

import numpy as np
import pytest

from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.world import Attributes, accuracy_against_gold, gold_reward, noise_ceiling


def _pair(gold_chosen, gold_rejected, pair_id="p"):
    return PreferencePair(
        prompt="q",
        chosen="a",
        rejected="b",
        id=pair_id,
        extra={"gold_chosen": gold_chosen, "gold_rejected": gold_rejected},
    )


def test_gold_reward_hand_computed():
    """g = 2.0*relevant + 0.5*relevant*(n_points-1) + 1.0*tone - 0.5*n_filler.

    on-topic, polite, 1 filler, 2 points:   2.0 + 0.5 + 1.0 - 0.5 = 3.0
    off-topic, rude, 2 fillers, 2 points:   0.0 + 0.0 - 1.0 - 1.0 = -2.0
    on-topic, neutral, 0 fillers, 1 point:  2.0 + 0.0 + 0.0 - 0.0 = 2.0
    """
    assert gold_reward(Attributes(relevant=True, tone=1, n_filler=1, n_points=2)) == 3.0
    assert gold_reward(Attributes(relevant=False, tone=-1, n_filler=2, n_points=2)) == -2.0
    assert (
        gold_reward({"relevant": True, "tone": 0, "n_filler": 0, "n_points": 1, "flattery": False})
        == 2.0
    )


def test_each_attribute_moves_gold_and_flattery_does_not():
    base = Attributes(relevant=True, tone=0, n_filler=1, n_points=1)
    g = gold_reward(base)
    assert gold_reward(Attributes(False, 0, 1, 1)) == g - 2.0  # relevance
    assert gold_reward(Attributes(True, 1, 1, 1)) == g + 1.0  # tone, one level
    assert gold_reward(Attributes(True, -1, 1, 1)) == g - 1.0
    assert gold_reward(Attributes(True, 0, 2, 1)) == g - 0.5  # one more filler sentence
    assert gold_reward(Attributes(True, 0, 1, 2)) == g + 0.5  # second on-topic point
    assert gold_reward(Attributes(False, 0, 1, 2)) == gold_reward(
        Attributes(False, 0, 1, 1)
    )  # off-topic detail: no value
    assert gold_reward(Attributes(True, 0, 1, 1, flattery=True)) == g  # gold ignores flattery


def test_accuracy_against_gold_hand_example():
    """gold (c, r) / reward (c, r): (2,1)/(0.9,0.1) agree; (0,1)/(0.2,0.5) agree (both say
    rejected is better); (3,0.5)/(0.3,0.3) reward tie never agrees; (1,2)/(1,0) disagree -> 2/4."""
    pairs = [_pair(2, 1), _pair(0, 1), _pair(3, 0.5), _pair(1, 2)]
    acc = accuracy_against_gold(pairs, [0.9, 0.2, 0.3, 1.0], np.array([0.1, 0.5, 0.3, 0.0]))
    assert acc == pytest.approx(0.5)


def test_noise_ceiling_hand_example():
    """Labels chose the gold-better response in 2 of 3 pairs -> 2/3."""
    assert noise_ceiling([_pair(2, 1), _pair(0, 1), _pair(1.5, 1.0)]) == pytest.approx(2 / 3)


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="expected \\(2,\\)"):
        accuracy_against_gold([_pair(1, 0), _pair(0, 1)], [1.0], [0.0])
    no_gold = PreferencePair(prompt="q", chosen="a", rejected="b", id="x-1")
    with pytest.raises(UserError, match="x-1"):
        noise_ceiling([no_gold])
    with pytest.raises(UserError):
        noise_ceiling([])
