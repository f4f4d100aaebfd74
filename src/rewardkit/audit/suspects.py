"""Suspect pairs: why a pair's label may be wrong, and which pairs to look at first.

Every pair gets ``P(label right) = σ(mean out-of-fold margin)`` (Bradley & Terry 1952; the
margin is Wang et al.'s 2024 preference strength, see :mod:`rewardkit.audit.margins`) and the
reasons that apply to it:

========================  ==================================================================
reason                    when
========================  ==================================================================
likely-flipped            every member's margin is negative and P(label right) ≤ 1 − confidence
near-tie                  |P(label right) − ½| < near_tie: the models cannot tell the two apart
near-identical            chosen and rejected equal after folding case and whitespace, or
                          ≥ 95% alike (difflib ratio)
contradicting-duplicate   the same prompt and responses occur with the opposite label
length-only               the out-of-fold length-only model backs the label (P ≥ 0.6) and the
                          content ensemble disagrees (P < ½)
members-disagree          the members split: at least a third of them on each side
========================  ==================================================================

The ranking is by P(label wrong) = 1 − P(label right), most suspect first.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from rewardkit.audit.margins import OutOfFold
from rewardkit.bradley_terry import sigmoid
from rewardkit.data.records import PreferencePair, prompt_text

REASONS = {
    "likely-flipped": "confident negative out-of-fold margin: every member prefers the rejected",
    "near-tie": "near-tie: the models cannot tell the two responses apart",
    "near-identical": "chosen and rejected are (nearly) identical",
    "contradicting-duplicate": "the same prompt and responses occur with the opposite label",
    "length-only": "only length explains the label: the length-only model agrees, content not",
    "members-disagree": "the ensemble members disagree on the label",
}
SIMILAR = 0.95  # difflib ratio at or above which two responses count as near-identical
LENGTH_DECISIVE = 0.6  # the length-only model's P(label right) that counts as backing the label
MINORITY = 1 / 3  # the share of members on the smaller side that counts as a split


@dataclass
class Verdict:
    """One audited pair: where it is, its out-of-fold figures, and its reasons."""

    position: int  # index in the input list
    p_right: float  # σ(mean margin): P(chosen ≻ rejected) by models that never saw it
    margin: float
    spread: float
    agreement: float  # share of members with a positive margin
    length_p: float  # the length-only model's P(chosen ≻ rejected)
    fold: int  # the prompt-disjoint fold that held it out (its models never saw its prompt)
    reasons: list[str] = field(default_factory=list)

    @property
    def p_wrong(self) -> float:
        return 1.0 - self.p_right


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def near_identical(a: str, b: str) -> bool:
    """Equal after folding case and whitespace, or a difflib ratio ≥ :data:`SIMILAR`."""
    a, b = _folded(a), _folded(b)
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return (
        matcher.real_quick_ratio() >= SIMILAR
        and matcher.quick_ratio() >= SIMILAR
        and (matcher.ratio() >= SIMILAR)
    )


def contradicting_duplicates(pairs: list[PreferencePair]) -> set[int]:
    """Positions of pairs whose prompt and responses also occur with the opposite label."""
    seen: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        if not pair.tie:
            seen[(prompt_text(pair.prompt), pair.chosen, pair.rejected)].append(i)
    flagged: set[int] = set()
    for (prompt, chosen, rejected), where in seen.items():
        opposite = seen.get((prompt, rejected, chosen))
        if opposite:
            flagged.update(where)
            flagged.update(opposite)
    return flagged


def judge(
    pairs: list[PreferencePair], oof: OutOfFold, *, confidence: float, near_tie: float
) -> list[Verdict]:
    """A :class:`Verdict` for every scored pair, ranked most suspect first."""
    p_right = sigmoid(oof.mean)
    length_p = sigmoid(oof.length_margin)
    agreement = oof.agreement
    duplicates = contradicting_duplicates(pairs)
    verdicts = []
    for row, position in enumerate(oof.index):
        pair = pairs[position]
        verdict = Verdict(
            int(position),
            float(p_right[row]),
            float(oof.mean[row]),
            float(oof.spread[row]),
            float(agreement[row]),
            float(length_p[row]),
            int(oof.fold[row]),
        )
        verdict.reasons = _reasons(verdict, pair, position in duplicates, confidence, near_tie)
        verdicts.append(verdict)
    verdicts.sort(key=lambda v: (-v.p_wrong, v.position))
    return verdicts


def _reasons(
    v: Verdict, pair: PreferencePair, duplicate: bool, confidence: float, near_tie: float
) -> list[str]:
    reasons = []
    if v.agreement == 0.0 and v.p_right <= 1.0 - confidence:
        reasons.append("likely-flipped")
    if abs(v.p_right - 0.5) < near_tie:
        reasons.append("near-tie")
    if near_identical(pair.chosen, pair.rejected):
        reasons.append("near-identical")
    if duplicate:
        reasons.append("contradicting-duplicate")
    if v.length_p >= LENGTH_DECISIVE and v.p_right < 0.5:
        reasons.append("length-only")
    if min(v.agreement, 1.0 - v.agreement) >= MINORITY - 1e-9:
        reasons.append("members-disagree")
    return reasons


def suspects(verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts with at least one reason, in ranking order."""
    return [v for v in verdicts if v.reasons]


def reason_counts(verdicts: list[Verdict]) -> dict[str, int]:
    return {name: sum(name in v.reasons for v in verdicts) for name in REASONS}


def p_right_array(verdicts: list[Verdict]) -> np.ndarray:
    return np.array([v.p_right for v in verdicts])
