"""evaluate_pairs: the metrics of a model on pairs, with the over-long accounting."""

import numpy as np
import pytest

from rewardkit.data.records import PreferencePair
from rewardkit.eval.evaluate import evaluate_pairs
from rewardkit.model import RewardModel


def test_evaluate_pairs_scores_and_counts(tiny_bert_rm_dir):
    """3 pairs at max_length 8: one fits, one is prompt-truncated (kept, left out of
    fits_max_length), one has a response too long (dropped). Accuracy equals that of the
    rewards score_pairs gives for the 2 kept pairs."""
    model = RewardModel.from_pretrained(tiny_bert_rm_dir, max_length=8)
    pairs = [
        PreferencePair("a", "x y", "z", subset="s"),
        PreferencePair("a b c d e f g h", "x y", "x y z", subset="s"),
        PreferencePair("a", "b c d e f g h i j", "y", subset="t"),
    ]
    metrics = evaluate_pairs(model, pairs)
    r_c, r_r, kept, _ = model.score_pairs(pairs)
    assert kept.tolist() == [0, 1]
    assert metrics["n"] == 2 and metrics["n_pairs_in"] == 3 and metrics["max_length"] == 8
    assert metrics["accuracy"] == pytest.approx(np.mean(r_c > r_r))
    assert metrics["fits_max_length"]["n"] == 1
    assert metrics["overlong"] == {
        "pairs": 3,
        "kept": 2,
        "prompt_truncated": 1,
        "dropped_overlong": 0,
        "dropped_response_too_long": 1,
    }
    assert metrics["per_subset"].keys() == {"s"}
