"""Scoring candidate sets with a reward model or an ensemble (shared by ``bon`` and
``label-pairs``).

Rewards are the ones ``rewardkit score`` gives for the same (prompt, response) — the model's
own template and encoding. For an ensemble (:mod:`rewardkit.model.ensemble`) the reward is the
members' mean and every member's reward is kept, so callers can measure disagreement
(Coste et al. 2023, "Reward model ensembles help mitigate overoptimization").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardkit.candidates.format import CandidateSet
from rewardkit.progress import progress_bar

CHUNK = 256  # texts per scorer call (one progress-bar step)


@dataclass
class ScoredSet:
    """A candidate set with, per response, the raw reward ``(K,)``, the normalized reward
    ``(K,)`` and each ensemble member's raw reward ``(M, K)`` (M = 1 for one model)."""

    candidates: CandidateSet
    rewards: np.ndarray
    normalized: np.ndarray
    members: np.ndarray

    @property
    def spread(self) -> np.ndarray:
        """Std over members (ddof 0) of each response's reward; zeros for one model."""
        return self.members.std(axis=0)


def score_sets(
    scorer, sets: list[CandidateSet], *, batch_size: int = 0, progress: bool | None = None
) -> list[ScoredSet]:
    """Score every response of every set with ``scorer`` (the one scorer,
    :class:`rewardkit.model.scorer.Scorer`); results follow ``sets``."""
    prompts = [s.prompt for s in sets for _ in s.responses]
    responses = [r for s in sets for r in s.responses]
    means, per_member = [], []
    with progress_bar("scoring candidates", len(responses), show=progress) as bar:
        for start in range(0, len(responses), CHUNK):
            end = start + CHUNK
            scores = scorer.score(prompts[start:end], responses[start:end], batch_size=batch_size)
            means.append(scores.rewards)
            per_member.append(scores.members)
            bar.update(len(scores.rewards))
    rewards = np.concatenate(means) if means else np.zeros(0)
    members = np.concatenate(per_member, axis=1) if per_member else np.zeros((1, 0))
    normalized = scorer.normalize(rewards)
    out, start = [], 0
    for s in sets:
        end = start + len(s.responses)
        out.append(ScoredSet(s, rewards[start:end], normalized[start:end], members[:, start:end]))
        start = end
    return out
