"""Length-bias rates against a five-pair example worked by hand."""

import numpy as np
import pytest

from rewardkit.eval.length_bias import length_bias, response_length

#            r_c  r_r  len_c len_r   chosen is   correct  longer scored higher
PAIRS = [
    (2.0, 1.0, 10, 5),  # longer      yes      yes
    (3.0, 1.0, 10, 5),  # longer      yes      yes
    (1.0, 3.0, 3, 8),  # shorter     no       yes (the rejected, longer, wins)
    (5.0, 0.0, 4, 9),  # shorter     yes      no
    (1.0, 0.0, 6, 6),
]  # same length yes      –


def _block():
    r_c, r_r, l_c, l_r = (np.array(col) for col in zip(*PAIRS))
    return length_bias(r_c, r_r, l_c, l_r), (r_c, r_r, l_c, l_r)


def test_rates_by_hand():
    """Pairs of different length: 4. Data: chosen longer in 2/4 = 0.5. Model: longer scored
    higher in 3/4 = 0.75. 'Longer wins' over all 5 pairs: (1 + 1 + 0 + 0 + ½) / 5 = 0.5.
    Accuracy when chosen is longer: 2/2; when shorter: 1/2."""
    block, _ = _block()
    assert block["n_different_length"] == 4
    assert block["data_prefers_longer"] == pytest.approx(0.5)
    assert block["rm_prefers_longer"] == pytest.approx(0.75)
    assert block["excess_preference_for_longer"] == pytest.approx(0.25)
    assert block["longer_wins_accuracy"] == pytest.approx(0.5)
    assert block["accuracy_chosen_longer"] == pytest.approx(1.0)
    assert block["accuracy_chosen_shorter"] == pytest.approx(0.5)
    assert (block["n_chosen_longer"], block["n_chosen_shorter"]) == (2, 2)


def _ranks(values):
    """Average ranks (1-based), ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = np.asarray(values)[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def test_spearman_is_pearson_of_average_ranks():
    block, (r_c, r_r, l_c, l_r) = _block()
    rewards, lengths = np.concatenate([r_c, r_r]), np.concatenate([l_c, l_r])
    expected = np.corrcoef(_ranks(rewards), _ranks(lengths))[0, 1]
    assert block["spearman_reward_length"] == pytest.approx(expected, abs=1e-12)


def test_word_length_and_empty_inputs():
    assert response_length("a b  c\n d") == 4
    assert response_length("") == 0
    empty = length_bias(np.array([]), np.array([]), [], [])
    assert empty["n"] == 0 and empty["data_prefers_longer"] is None
