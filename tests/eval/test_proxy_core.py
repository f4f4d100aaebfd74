"""The accuracy block of metrics.json: what a scored set of pairs counts, with the over-long
accounting (every evaluation during training writes it too)."""

import numpy as np

from rewardkit.data.records import PreferencePair
from rewardkit.eval.proxy import core_metrics
from rewardkit.model import load_reward_model

_PAIRS = [
    PreferencePair("a", "x y", "z", subset="s"),
    PreferencePair("a b c d e f g h", "x y", "x y z", subset="s"),
    PreferencePair("a", "b c d e f g h i j", "y", subset="t"),
]


def test_core_metrics_scores_and_counts(tiny_bert_rm_dir):
    """3 pairs at max_length 8 with the default policy (truncate, as RewardBench does): one
    fits, one has its prompt cut, one has a response cut; all 3 are scored, the 2 cut ones
    are left out of fits_max_length."""
    scorer = load_reward_model(tiny_bert_rm_dir, max_length=8)
    scored = scorer.score_pairs(_PAIRS)
    metrics = core_metrics(scored, len(_PAIRS), scorer.max_length, scorer.calibration)
    assert [e.index for e in scored.encoded] == [0, 1, 2]
    assert metrics["n"] == 3 and metrics["n_pairs_in"] == 3 and metrics["max_length"] == 8
    correct = scored.r_chosen > scored.r_rejected
    assert metrics["accuracy"] == float(np.mean(correct))
    assert metrics["fits_max_length"]["n"] == 1
    assert metrics["fits_max_length"]["accuracy"] == float(correct[0])
    assert metrics["overlong"] == {
        "pairs": 3,
        "kept": 3,
        "truncated": 2,
        "response_truncated": 1,
        "dropped_overlong": 0,
        "dropped_response_too_long": 0,
    }
    assert metrics["per_subset"].keys() == {"s", "t"}


def test_core_metrics_with_truncate_prompt_drops_a_response_too_long(tiny_bert_rm_dir):
    """--overlong truncate-prompt (training's default) keeps responses whole: the pair whose
    response alone is over max_length is dropped and counted; subset t lost its only pair."""
    scorer = load_reward_model(tiny_bert_rm_dir, max_length=8)
    scored = scorer.score_pairs(_PAIRS, overlong="truncate-prompt")
    metrics = core_metrics(scored, len(_PAIRS), scorer.max_length, scorer.calibration)
    assert [e.index for e in scored.encoded] == [0, 1]
    assert metrics["n"] == 2 and metrics["n_pairs_in"] == 3
    assert metrics["overlong"] == {
        "pairs": 3,
        "kept": 2,
        "truncated": 1,
        "response_truncated": 0,
        "dropped_overlong": 0,
        "dropped_response_too_long": 1,
    }
    assert metrics["per_subset"].keys() == {"s"}
