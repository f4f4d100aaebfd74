"""The known truth of the demo world: response attributes, the gold reward, and the metrics
that compare labels or a reward model against it.

Gold reward (a linear score over visible attributes; flattery is deliberately absent)::

    g = 2.0 * relevant                     # the answer is about the asked topic
      + 0.5 * relevant * (n_points - 1)    # a second on-topic content point helps
      + 1.0 * tone                         # -1 curt/rude, 0 neutral, +1 polite
      - 0.5 * n_filler                     # each irrelevant filler sentence costs

All weights are multiples of 0.5, so two responses either tie exactly or differ by at least
0.5; the generator never pairs two responses with equal gold, so "accuracy against gold" is
always defined. Ranges: on-topic 0.0 .. 3.5, off-topic -2.0 .. 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Union

import numpy as np

from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError

RELEVANCE_WEIGHT = 2.0
DETAIL_WEIGHT = 0.5
TONE_WEIGHT = 1.0
FILLER_COST = 0.5
MAX_POINTS = 2
MAX_FILLER = 2
TONES = (-1, 0, 1)

GOLD_FORMULA = (
    "g = 2.0*relevant + 0.5*relevant*(n_points-1) + 1.0*tone - 0.5*n_filler "
    "(flattery is not rewarded)"
)


@dataclass(frozen=True)
class Attributes:
    """What a response is made of.

    relevant:  True when the answer is about the asked topic, False when it answers a
               different topic of the same family.
    tone:      -1 curt/rude, 0 neutral, +1 polite (opener and closer wording).
    n_filler:  irrelevant filler sentences, 0 .. MAX_FILLER.
    n_points:  content points, 1 .. MAX_POINTS (about the shown topic).
    flattery:  an appended sentence from FLATTERY_SENTENCES; invisible to gold.
    """

    relevant: bool
    tone: int
    n_filler: int
    n_points: int
    flattery: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


AttributeLike = Union[Attributes, Mapping[str, Any]]


def gold_reward(attributes: AttributeLike) -> float:
    """The gold reward of a response from its attributes (formula in the module docstring).

    >>> gold_reward(Attributes(relevant=True, tone=1, n_filler=1, n_points=2, flattery=True))
    3.0
    """
    a = attributes if isinstance(attributes, Mapping) else asdict(attributes)
    relevant = float(bool(a["relevant"]))
    return (
        RELEVANCE_WEIGHT * relevant
        + DETAIL_WEIGHT * relevant * (int(a["n_points"]) - 1)
        + TONE_WEIGHT * int(a["tone"])
        - FILLER_COST * int(a["n_filler"])
    )


def _gold_pairs(pairs: Sequence[PreferencePair]) -> tuple[np.ndarray, np.ndarray]:
    """Gold of chosen and rejected, shape (n,) each, read from ``pair.extra``."""
    if len(pairs) == 0:
        raise UserError("no pairs given; build them with rewardkit.world.build_world")
    chosen, rejected = [], []
    for pair in pairs:
        if "gold_chosen" not in pair.extra or "gold_rejected" not in pair.extra:
            raise UserError(
                "pair has no gold reward in extra['gold_chosen'/'gold_rejected']; use pairs "
                "from rewardkit.world (build_world or load_world_split)",
                where=pair.id or pair.source,
            )
        chosen.append(float(pair.extra["gold_chosen"]))
        rejected.append(float(pair.extra["gold_rejected"]))
    return np.asarray(chosen), np.asarray(rejected)


def noise_ceiling(pairs: Sequence[PreferencePair]) -> float:
    """Accuracy of the gold reward itself on the pairs' simulated labels: the fraction of
    pairs whose label-chosen response has the higher gold. No reward model can be expected
    to agree with held-out labels more often than the truth does."""
    gold_c, gold_r = _gold_pairs(pairs)
    return float(np.mean(gold_c > gold_r))


def accuracy_against_gold(
    pairs: Sequence[PreferencePair],
    reward_chosen: Sequence[float] | np.ndarray,
    reward_rejected: Sequence[float] | np.ndarray,
) -> float:
    """Fraction of pairs where ``sign(r_c - r_r) == sign(g_c - g_r)``.

    Shapes: ``reward_chosen`` and ``reward_rejected`` are (n,), aligned with ``pairs``.
    A reward tie (``r_c == r_r``) never matches, since gold never ties.
    """
    gold_c, gold_r = _gold_pairs(pairs)
    r_c = np.asarray(reward_chosen, dtype=float).reshape(-1)
    r_r = np.asarray(reward_rejected, dtype=float).reshape(-1)
    if r_c.shape != gold_c.shape or r_r.shape != gold_c.shape:
        raise ValueError(
            f"rewards have shapes {r_c.shape} and {r_r.shape}, expected ({len(pairs)},) each"
        )
    return float(np.mean(np.sign(r_c - r_r) == np.sign(gold_c - gold_r)))


def world_statistics(pairs: Sequence[PreferencePair]) -> dict[str, float]:
    """Sanity numbers about a split: noise ceiling, how often the longer response (in words)
    is chosen, how common flattery is, and how much the labels favour it beyond gold."""
    gold_c, gold_r = _gold_pairs(pairs)
    flat_c = np.array([bool(p.extra["flattered_chosen"]) for p in pairs])
    flat_r = np.array([bool(p.extra["flattered_rejected"]) for p in pairs])
    len_c = np.array([len(p.chosen.split()) for p in pairs])
    len_r = np.array([len(p.rejected.split()) for p in pairs])
    distinct_len = len_c != len_r
    differs = flat_c != flat_r
    stats = {
        "n_pairs": float(len(pairs)),
        "noise_ceiling": float(np.mean(gold_c > gold_r)),
        "longer_wins_rate": float(np.mean((len_c > len_r)[distinct_len]))
        if distinct_len.any()
        else float("nan"),
        "flattered_response_fraction": float(np.mean(np.concatenate([flat_c, flat_r]))),
        "flattery_differs_fraction": float(np.mean(differs)),
        "max_words": float(max(len_c.max(), len_r.max())),
    }
    if differs.any():
        # Among pairs where exactly one side is flattered: how often labels pick it, and how
        # often gold would. The gap is the bias the annotators put into the data.
        stats["flattered_label_win_rate"] = float(np.mean(flat_c[differs]))
        flattered_gold = np.where(flat_c, gold_c, gold_r)[differs]
        other_gold = np.where(flat_c, gold_r, gold_c)[differs]
        stats["flattered_gold_win_rate"] = float(np.mean(flattered_gold > other_gold))
    return stats
