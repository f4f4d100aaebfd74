"""The accuracy block of metrics.json: what a scored set of pairs counts, with the over-long
accounting (every evaluation during training writes it too)."""

import numpy as np

from rewardkit.data.records import PreferencePair
from rewardkit.eval.proxy import core_metrics
from rewardkit.model import load_reward_model


def test_core_metrics_scores_and_counts(tiny_bert_rm_dir):
    """3 pairs at max_length 8: one fits, one is prompt-truncated (kept, left out of
    fits_max_length), one has a response too long (dropped). Accuracy is the share of the 2
    kept pairs whose chosen reward is higher; subset t lost its only pair."""
    scorer = load_reward_model(tiny_bert_rm_dir, max_length=8)
    pairs = [
        PreferencePair("a", "x y", "z", subset="s"),
        PreferencePair("a b c d e f g h", "x y", "x y z", subset="s"),
        PreferencePair("a", "b c d e f g h i j", "y", subset="t"),
    ]
    scored = scorer.score_pairs(pairs)
    metrics = core_metrics(scored, len(pairs), scorer.max_length, scorer.temperature)
    assert [e.index for e in scored.encoded] == [0, 1]
    assert metrics["n"] == 2 and metrics["n_pairs_in"] == 3 and metrics["max_length"] == 8
    correct = scored.r_chosen > scored.r_rejected
    assert metrics["accuracy"] == float(np.mean(correct))
    assert metrics["fits_max_length"]["n"] == 1
    assert metrics["fits_max_length"]["accuracy"] == float(correct[0])
    assert metrics["overlong"] == {
        "pairs": 3,
        "kept": 2,
        "prompt_truncated": 1,
        "dropped_overlong": 0,
        "dropped_response_too_long": 1,
    }
    assert metrics["per_subset"].keys() == {"s"}
