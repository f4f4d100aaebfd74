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
from rewardkit.errors import UserError
from rewardkit.model.aggregate import check_aggregate
from rewardkit.model.overlong import ResponseTooLongError
from rewardkit.progress import progress_bar

CHUNK = 256  # texts per scorer call (one progress-bar step)


@dataclass
class ScoredSet:
    """A candidate set with, per response, the raw reward ``(K,)``, the normalized reward
    ``(K,)``, each ensemble member's raw reward ``(M, K)`` (M = 1 for one model), the tokens
    the over-length rule cut ``(K,)``, and with ``--aggregate min|uwo`` the conservative reward
    ``(K,)`` (normalized units, :mod:`rewardkit.model.aggregate`) that ranks them."""

    candidates: CandidateSet
    rewards: np.ndarray
    normalized: np.ndarray
    members: np.ndarray
    tokens_removed: np.ndarray
    aggregated: np.ndarray | None = None

    @property
    def ranking(self) -> np.ndarray:
        """The reward candidates are ranked by: the aggregate when one was asked for."""
        return self.rewards if self.aggregated is None else self.aggregated

    @property
    def spread(self) -> np.ndarray:
        """Std over members (ddof 0) of each response's reward; zeros for one model."""
        return self.members.std(axis=0)


def score_sets(
    scorer,
    sets: list[CandidateSet],
    *,
    batch_size: int = 0,
    progress: bool | None = None,
    overlong: str = "truncate",
    aggregate: str = "mean",
    uwo_lambda: float = 0.0,
) -> list[ScoredSet]:
    """Score every response of every set with ``scorer`` (the one scorer,
    :class:`rewardkit.model.scorer.Scorer`); results follow ``sets``. ``--overlong error``
    stops at a response that alone is too long, naming its candidate set. ``aggregate`` min
    or uwo also computes the conservative reward (refused on a single model)."""
    if aggregate != "mean":
        check_aggregate(aggregate, scorer.k, scorer.source or "the model")
    prompts = [s.prompt for s in sets for _ in s.responses]
    responses = [r for s in sets for r in s.responses]
    owners = [s for s in sets for _ in s.responses]
    parts = []
    with progress_bar("scoring candidates", len(responses), show=progress) as bar:
        for start in range(0, len(responses), CHUNK):
            end = start + CHUNK
            try:
                parts.append(
                    scorer.score(
                        prompts[start:end],
                        responses[start:end],
                        batch_size=batch_size,
                        overlong=overlong,
                    )
                )
            except ResponseTooLongError as err:
                raise UserError(
                    f"a response of candidate set {owners[start + err.index].id} "
                    f"alone is longer than max_length {err.max_length}; pass a "
                    "larger --max-length, or --overlong truncate"
                ) from None
            bar.update(end - start)
    rewards = np.concatenate([p.rewards for p in parts]) if parts else np.zeros(0)
    members = np.concatenate([p.members for p in parts], axis=1) if parts else np.zeros((1, 0))
    removed = np.concatenate([p.tokens_removed for p in parts]) if parts else np.zeros(0, int)
    normalized = scorer.normalize(rewards)
    out, start = [], 0
    for s in sets:
        rows = slice(start, start + len(s.responses))
        aggregated = (
            None
            if aggregate == "mean"
            else scorer.aggregate(members[:, rows], aggregate, uwo_lambda)
        )
        parts_of_set = (rewards[rows], normalized[rows], members[:, rows], removed[rows])
        out.append(ScoredSet(s, *parts_of_set, aggregated))
        start = rows.stop
    return out


def score_with_options(scorer, sets: list[CandidateSet], options, *, progress=None):
    """:func:`score_sets` with a command's options: ``batch_size``, ``overlong`` and, when it
    has them, ``aggregate`` and ``uwo_lambda``."""
    return score_sets(
        scorer,
        sets,
        batch_size=options.batch_size,
        progress=progress,
        overlong=options.overlong,
        aggregate=getattr(options, "aggregate", "mean"),
        uwo_lambda=getattr(options, "uwo_lambda", 0.0),
    )
