"""``rewardkit bon``: best-of-n reranking of candidate responses with a reward model.

Best-of-n (rejection) sampling keeps the highest-reward response of n samples. Its KL
divergence from the sampling policy is ``log n − (n − 1)/n`` nats by the usual formula
(Stiennon et al. 2020; the KL axis of Gao et al. 2022's overoptimization curves), which Beirami
et al. 2024 show is an upper bound; it is written per prompt so a run can be placed on that axis.

Each output line is the candidates record plus:

==================  ========================================================================
field               meaning
==================  ========================================================================
rewards             raw reward of each response (same as ``rewardkit score``)
normalized_rewards  ``(r − mean) / std`` with the model's stored normalization
ranks               1 = best (by the reward, or by ``--aggregate``'s); ties keep input order
best_index          index of the best response; ``best_response`` its text
spread              ensembles only: std of the members' rewards per response
aggregated_rewards  ``--aggregate min|uwo`` only: the conservative reward that ranks them
                    (normalized units), and ``aggregate``: which one
kl_bound            ``log n − (n − 1)/n``
tokens_removed      per response, the tokens the over-length rule cut (0 when it fits)
==================  ========================================================================
"""

from __future__ import annotations

import math

import numpy as np

from rewardkit.candidates.config import BonConfig
from rewardkit.candidates.format import read_candidates, write_candidates
from rewardkit.candidates.scoring import score_with_options
from rewardkit.model.aggregate import describe_aggregate
from rewardkit.model.loading import load_reward_model


def kl_bound(n: int) -> float:
    """Upper bound on KL(best-of-n ‖ policy) in nats: ``log n − (n − 1)/n``."""
    return math.log(n) - (n - 1) / n


def rank_descending(rewards: np.ndarray) -> np.ndarray:
    """Ranks (1 = highest reward); equal rewards keep their input order."""
    order = np.argsort(-np.asarray(rewards), kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def best_of_n(config: BonConfig, *, progress: bool | None = None) -> dict:
    """Rerank ``config.data`` and write ``config.out``; returns a summary."""
    sets, skipped = read_candidates(config.data, on_bad_record=config.on_bad_record)
    scorer = load_reward_model(config.model, **config.load_kwargs())
    scored = score_with_options(scorer, sets, config, progress=progress)
    rows, best, mean = [], [], []
    for item in scored:
        ranks = rank_descending(item.ranking)
        top = int(np.argmin(ranks))
        row = item.candidates.to_json(
            rewards=item.rewards.tolist(),
            normalized_rewards=item.normalized.tolist(),
            ranks=ranks.tolist(),
            best_index=top,
            best_response=item.candidates.responses[top],
            kl_bound=kl_bound(len(item.rewards)),
            tokens_removed=item.tokens_removed.tolist(),
        )
        if scorer.k > 1:
            row["spread"] = item.spread.tolist()
        if item.aggregated is not None:
            row["aggregated_rewards"] = item.aggregated.tolist()
            row["aggregate"] = describe_aggregate(config.aggregate, config.uwo_lambda)
        rows.append(row)
        best.append(float(item.ranking[top]))
        mean.append(float(item.ranking.mean()))
    write_candidates(config.out, rows)
    return {
        "prompts": len(rows),
        "responses": sum(len(s.responses) for s in sets),
        "skipped": len(skipped),
        "mean_best_reward": float(np.mean(best)),
        "mean_reward": float(np.mean(mean)),
        "ensemble_members": scorer.k,
        "aggregate": config.aggregate,
        "out": config.out,
    }
