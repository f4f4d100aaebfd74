"""Accuracy by preference strength, RewardBench-style sections, ties."""

import numpy as np
import pytest

from rewardkit.data.records import PreferencePair
from rewardkit.eval.accuracy_breakdown import (
    accuracy_by_strength,
    section_of,
    section_scores,
    strength_labels,
    tie_summary,
)


def _pair(margin=0.0, votes=None, tie=False):
    return PreferencePair(
        "q", "a", "b", margin=margin, tie=tie, extra={"votes": votes} if votes else {}
    )


def test_vote_agreement_buckets():
    """Votes 3-0 → "3/3", 2-1 → "2/3"; rewards right on 2 of the 3 unanimous pairs and the
    one split pair: 2/3 and 1/1; the tie is left out."""
    pairs = [_pair(votes={"a": 3, "b": 0, "tie": 0})] * 3 + [
        _pair(votes={"a": 2, "b": 1, "tie": 0}),
        _pair(votes={"a": 1, "b": 1, "tie": 1}, tie=True),
    ]
    r_c, r_r = np.array([1.0, 1.0, 0.0, 2.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    block = accuracy_by_strength(pairs, r_c, r_r)
    assert block["by"] == "vote agreement"
    assert block["buckets"]["3/3"]["accuracy"] == pytest.approx(2 / 3)
    assert block["buckets"]["2/3"]["n"] == 1 and block["buckets"]["2/3"]["accuracy"] == 1.0
    assert "1/3" not in block["buckets"]


def test_margin_buckets_and_no_strength():
    pairs = [_pair(margin=m) for m in (0.0, 1.0, 1.0, 3.0)]
    kind, labels = strength_labels(pairs)
    assert kind == "margin" and labels == ["margin 0", "margin 1", "margin 1", "margin 3"]
    many = [_pair(margin=float(m)) for m in range(20)]
    kind, labels = strength_labels(many)
    assert kind == "margin quartile" and len(set(labels)) == 4
    assert strength_labels([_pair(), _pair()]) is None


def test_section_scores_weight_subsets_by_pairs():
    """Chat: alpacaeval-easy 10 pairs at 0.9, mt-bench-med 30 at 0.5 → (9 + 15)/40 = 0.6.
    Reasoning: math-prm (4 pairs, 1.0) is weighted like the code subsets together (hep-go 6
    + hep-js 2 = 8 pairs; accuracy 0.5 and 0.0): (8·1.0 + 6·0.5 + 2·0)/16 = 11/16.
    Mean of sections: (0.6 + 0.6875)/2."""
    per_subset = {
        "alpacaeval-easy": {"n": 10, "accuracy": 0.9},
        "mt-bench-med": {"n": 30, "accuracy": 0.5},
        "math-prm": {"n": 4, "accuracy": 1.0},
        "hep-go": {"n": 6, "accuracy": 0.5},
        "hep-js": {"n": 2, "accuracy": 0.0},
        "unrelated": {"n": 5, "accuracy": 0.1},
    }
    block = section_scores(per_subset)
    assert block["sections"]["Chat"]["score"] == pytest.approx(0.6)
    assert block["sections"]["Reasoning"]["score"] == pytest.approx(11 / 16)
    assert block["score"] == pytest.approx((0.6 + 11 / 16) / 2)
    assert section_of("safety/refusals") == "safety"
    assert section_scores({"a": {"n": 3, "accuracy": 1.0}}) is None


def test_tie_summary():
    block = tie_summary(
        np.array([1.0, 3.0, 0.5]), np.array([0.0, 0.0, 0.0]), np.array([False, False, True])
    )
    assert block["n"] == 1
    assert block["mean_abs_margin_ties"] == 0.5
    assert block["mean_abs_margin_non_ties"] == 2.0
