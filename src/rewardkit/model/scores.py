"""What the scorer returns: :class:`Scores` of texts, :class:`ScoredPairs` of preference pairs.

==============  ==============================================================================
field           meaning
==============  ==============================================================================
rewards (N,)    the reward: the model's own for a single model and for heads (the saved head is
                the exact mean of the K heads, so any HF tool computes the same), the mean over
                members for a members ensemble; raw, float64
members (K, N)  each member's reward (K = 1 for a single model)
spread (N,)     std over members (ddof 0; Coste et al. 2023), zeros for a single model
features        (N, H) the primary model's head input, when asked for (OOD statistics)
tokens_removed  (N,) how many tokens the over-length rule cut from each text
                (:mod:`rewardkit.model.overlong`); ``truncated`` is ``tokens_removed > 0``
mapped          (N, D) what a caller's ``feature_map`` made of the head input, pass by pass
                (:meth:`rewardkit.model.scorer.Scorer.score`), when one was given
==============  ==============================================================================

Later measurements that need only the model belong on :class:`Scores` as further fields, so
that every caller gets them from the same call. The trust signals (OOD distance, percentile and
flag) need the training statistics, which live in ``eval``: :class:`rewardkit.eval.trust.Trust`
computes them in the same call, as its ``feature_map`` (``mapped``), or from ``features``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardkit.data.records import PreferencePair
from rewardkit.model.encode import EncodedPair, EncodeReport


@dataclass
class Scores:
    """Rewards of N texts and what the ensemble knows about them (see the module table)."""

    rewards: np.ndarray
    members: np.ndarray
    features: np.ndarray | None = None
    tokens_removed: np.ndarray | None = None
    mapped: np.ndarray | None = None

    @property
    def truncated(self) -> np.ndarray | None:
        """Whether each text was cut to fit the max length (None when not known: token ids)."""
        return None if self.tokens_removed is None else self.tokens_removed > 0

    @property
    def spread(self) -> np.ndarray:
        """Std over members (ddof 0) of each reward; zeros for a single model."""
        return self.members.std(axis=0)

    def rows(self, start: int, stop: int) -> "Scores":
        """The scores of texts ``start:stop``."""
        cut = slice(start, stop)
        return Scores(
            self.rewards[cut],
            self.members[:, cut],
            None if self.features is None else self.features[cut],
            None if self.tokens_removed is None else self.tokens_removed[cut],
            None if self.mapped is None else self.mapped[cut],
        )


@dataclass
class ScoredPairs:
    """Pairs kept after the over-long policy, with everything measured on them.

    ``r_chosen``/``r_rejected`` (N,) are the rewards; ``members_*`` (K, N) each member's;
    ``features_*`` (N, H) the primary model's head input (None when its head is not linear)."""

    pairs: list[PreferencePair]
    encoded: list[EncodedPair]
    report: EncodeReport
    r_chosen: np.ndarray
    r_rejected: np.ndarray
    members_chosen: np.ndarray
    members_rejected: np.ndarray
    features_chosen: np.ndarray | None
    features_rejected: np.ndarray | None

    @property
    def spread(self) -> np.ndarray:
        """Per pair, the std over members (ddof 0) of ``Δ_k``; zeros for a single model."""
        return (self.members_chosen - self.members_rejected).std(axis=0)

    @classmethod
    def from_scores(cls, pairs, encoded, report, scores: Scores) -> "ScoredPairs":
        """``scores`` of the chosen texts of ``encoded`` followed by their rejected texts."""
        n = len(encoded)
        chosen, rejected = scores.rows(0, n), scores.rows(n, 2 * n)
        return cls(
            list(pairs),
            list(encoded),
            report,
            chosen.rewards,
            rejected.rewards,
            chosen.members,
            rejected.members,
            chosen.features,
            rejected.features,
        )
