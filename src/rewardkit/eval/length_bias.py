"""Length bias: does the reward model simply prefer longer answers?

Singhal, Goyal, Xu & Durrett 2023 ("A Long Way to Go: Investigating Length Correlations in
RLHF", arXiv 2310.03716) found reward strongly correlated with length and most of RLHF's
reward gain explained by it. The checks here are theirs (and RewardBench's / RM-Bench's
length-stratified accuracy):

* ``data_prefers_longer``: among pairs whose responses differ in length, how often the
  labelled-chosen response is the longer one;
* ``rm_prefers_longer``: among the same pairs, how often the model scores the longer one
  strictly higher;
* ``longer_wins_accuracy``: accuracy of the baseline "the longer response wins" on every pair
  (equal lengths count as a coin flip, ½);
* accuracy when the chosen response is the longer one vs when it is the shorter one;
* Spearman's ρ between reward and length over every scored response.

Length = number of whitespace-separated words of the response (independent of tokenizer, so
it compares across models).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr


def response_length(text: str) -> int:
    """Words in ``text`` (whitespace-separated)."""
    return len(text.split())


def length_bias(
    r_chosen: np.ndarray,
    r_rejected: np.ndarray,
    len_chosen: Sequence[int],
    len_rejected: Sequence[int],
) -> dict:
    """The length-bias block of ``metrics.json`` for non-tie pairs (see the module docstring)."""
    r_c, r_r = np.asarray(r_chosen, dtype=np.float64), np.asarray(r_rejected, dtype=np.float64)
    l_c, l_r = np.asarray(len_chosen, dtype=np.int64), np.asarray(len_rejected, dtype=np.int64)
    n = int(r_c.size)
    differ = l_c != l_r
    chosen_longer = l_c > l_r
    chosen_shorter = l_c < l_r
    longer_scored_higher = np.where(chosen_longer, r_c > r_r, r_r > r_c)
    correct = r_c > r_r

    def rate(mask: np.ndarray, values: np.ndarray) -> float | None:
        return float(values[mask].mean()) if mask.any() else None

    lengths = np.concatenate([l_c, l_r])
    rewards = np.concatenate([r_c, r_r])
    rho = None
    if lengths.size > 2 and np.ptp(lengths) > 0 and np.ptp(rewards) > 0:
        rho = float(spearmanr(rewards, lengths).statistic)
    baseline = np.where(chosen_longer, 1.0, np.where(chosen_shorter, 0.0, 0.5))
    out = {
        "unit": "words",
        "n": n,
        "n_different_length": int(differ.sum()),
        "data_prefers_longer": rate(differ, chosen_longer),
        "rm_prefers_longer": rate(differ, longer_scored_higher),
        "longer_wins_accuracy": float(baseline.mean()) if n else None,
        "accuracy_chosen_longer": rate(chosen_longer, correct),
        "accuracy_chosen_shorter": rate(chosen_shorter, correct),
        "n_chosen_longer": int(chosen_longer.sum()),
        "n_chosen_shorter": int(chosen_shorter.sum()),
        "spearman_reward_length": rho,
        "mean_length_chosen": float(l_c.mean()) if n else None,
        "mean_length_rejected": float(l_r.mean()) if n else None,
    }
    if out["rm_prefers_longer"] is not None and out["data_prefers_longer"] is not None:
        out["excess_preference_for_longer"] = out["rm_prefers_longer"] - out["data_prefers_longer"]
    return out
