"""Planted label noise: flip a known share of the demo world's training labels on request.

Real preference data has mislabelled pairs whose identity nobody knows; here they are known.
:func:`plant_flips` swaps chosen and rejected of exactly ``round(rate · N)`` training pairs
drawn uniformly without replacement, and records ``label_flipped`` in every pair's ``extra``
(and so in ``gold.jsonl``), so an audit's precision and recall on the flips can be measured
(``bench/audit_planted.py``). The gold fields travel with their responses; the annotator's
P(chosen) becomes 1 − P. The eval split is never touched.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rewardkit.data.records import PreferencePair

FLIP_FIELD = "label_flipped"
_SWAPPED = (
    ("gold_chosen", "gold_rejected"),
    ("attributes_chosen", "attributes_rejected"),
    ("flattered_chosen", "flattered_rejected"),
)


def flipped_pair(pair: PreferencePair) -> PreferencePair:
    """``pair`` with chosen and rejected (and their gold fields) swapped, marked flipped."""
    extra = dict(pair.extra)
    for a, b in _SWAPPED:
        if a in extra and b in extra:
            extra[a], extra[b] = extra[b], extra[a]
    if "p_chosen" in extra:
        extra["p_chosen"] = 1.0 - extra["p_chosen"]
    extra[FLIP_FIELD] = True
    return replace(pair, chosen=pair.rejected, rejected=pair.chosen, extra=extra)


def plant_flips(
    pairs: list[PreferencePair], rate: float, rng: np.random.Generator
) -> list[PreferencePair]:
    """A copy of ``pairs`` with ``round(rate · len(pairs))`` of them flipped; every pair's
    ``extra`` says whether it was."""
    n_flip = int(round(rate * len(pairs)))
    chosen = set(rng.choice(len(pairs), size=n_flip, replace=False).tolist()) if n_flip else set()
    out = []
    for i, pair in enumerate(pairs):
        if i in chosen:
            out.append(flipped_pair(pair))
        else:
            out.append(replace(pair, extra={**pair.extra, FLIP_FIELD: False}))
    return out
