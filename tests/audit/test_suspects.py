"""Each suspect reason on hand-made out-of-fold margins, and the ranking."""

import numpy as np
import pytest

from rewardkit.audit.margins import OutOfFold
from rewardkit.audit.suspects import (
    contradicting_duplicates,
    judge,
    near_identical,
    reason_counts,
    suspects,
)
from rewardkit.data.records import PreferencePair


def pair(prompt, chosen="a fine answer", rejected="a worse reply"):
    return PreferencePair(prompt=prompt, chosen=chosen, rejected=rejected)


def oof(members, length_margin):
    members = np.asarray(members, dtype=float)
    n = members.shape[1]
    return OutOfFold(np.arange(n), members, np.zeros(n, int), np.asarray(length_margin), [1e-3])


def test_each_reason_on_its_own_pair():
    """Columns (3 members each): 0 confident negative (Δ = −2 everywhere: σ(−2) = 0.119 ≤ 0.3);
    1 a near-tie (Δ = 0.01 → P = 0.5025); 2 near-identical texts, confident positive;
    3 length backs the label (σ(1) = 0.73 ≥ 0.6) while content says σ(−0.5) = 0.38;
    4 members split 2 : 1 with mean 1/3 (P = 0.58); 5 and 6 the same pair with both labels."""
    pairs = [
        pair("p0"),
        pair("p1"),
        pair("p2", "Hello  there, friend.", "hello there, FRIEND."),
        pair("p3"),
        pair("p4"),
        pair("p5", "yes", "no"),
        pair("p5", "no", "yes"),
    ]
    members = [
        [-2.0, 0.01, 3.0, -0.4, 1.0, 2.0, 2.0],
        [-2.0, 0.01, 3.0, -0.5, 1.0, 2.0, 2.0],
        [-2.0, 0.01, 3.0, -0.6, -1.0, 2.0, 2.0],
    ]
    verdicts = judge(pairs, oof(members, [0, 0, 0, 1.0, 0, 0, 0]), confidence=0.7, near_tie=0.02)
    by_position = {v.position: v.reasons for v in verdicts}
    assert by_position == {
        0: ["likely-flipped"],
        1: ["near-tie"],
        2: ["near-identical"],
        3: ["length-only"],
        4: ["members-disagree"],
        5: ["contradicting-duplicate"],
        6: ["contradicting-duplicate"],
    }
    assert verdicts[0].position == 0 and verdicts[0].p_right == pytest.approx(1 / (1 + np.e**2))
    assert [v.position for v in verdicts[:3]] == [0, 3, 1]  # P(wrong) 0.88, 0.62, 0.4975
    assert reason_counts(verdicts)["contradicting-duplicate"] == 2
    assert len(suspects(verdicts)) == 7


def test_a_negative_margin_with_a_dissenting_member_is_not_likely_flipped():
    """Mean −2 but one member positive: the members do not agree, so no confident flip."""
    (verdict,) = judge([pair("p")], oof([[-3.5], [-3.5], [1.0]], [0.0]), confidence=0.7, near_tie=0)
    assert "likely-flipped" not in verdict.reasons and "members-disagree" in verdict.reasons


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("Same text.", "  same   TEXT. ", True),
        ("x" * 100 + "a", "x" * 100 + "b", True),  # 99.5% alike
        ("The cat sat on the mat.", "A dog ran in the park.", False),
    ],
)
def test_near_identical(a, b, expected):
    assert near_identical(a, b) is expected


def test_duplicates_with_the_same_label_do_not_contradict():
    pairs = [pair("p", "a", "b"), pair("p", "a", "b"), pair("q", "a", "b"), pair("p", "b", "a")]
    assert contradicting_duplicates(pairs) == {0, 1, 3}
    assert contradicting_duplicates(pairs[:3]) == set()
