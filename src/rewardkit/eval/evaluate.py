"""Evaluating a reward model on preference pairs: the ``metrics.json`` of train and eval."""

from __future__ import annotations

import numpy as np

from rewardkit.data.records import PreferencePair
from rewardkit.eval.pairwise import pairwise_metrics
from rewardkit.model.encode import EncodedPair, EncodeReport
from rewardkit.model.reward_model import RewardModel


def evaluate_encoded(
    model: RewardModel,
    pairs: list[PreferencePair],
    encoded: list[EncodedPair],
    report: EncodeReport,
    *,
    batch_size: int = 0,
    progress: bool | None = False,
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics for already-encoded pairs; returns ``(metrics, r_chosen, r_rejected)``."""
    r_c, r_r = model.score_encoded_pairs(encoded, batch_size=batch_size, progress=progress)
    kept = [pairs[e.index] for e in encoded]
    metrics = pairwise_metrics(
        r_c,
        r_r,
        tie=[p.tie for p in kept],
        subset=[p.subset for p in kept],
        truncated=[e.truncated for e in encoded],
        temperature=model.temperature,
    )
    metrics["n_pairs_in"] = len(pairs)
    metrics["overlong"] = report.to_dict()
    metrics["max_length"] = model.info.max_length
    return metrics, r_c, r_r


def evaluate_pairs(
    model: RewardModel,
    pairs: list[PreferencePair],
    *,
    batch_size: int = 0,
    overlong: str = "truncate-prompt",
    progress: bool | None = False,
) -> dict:
    """Score pairs with ``model`` and compute :func:`pairwise_metrics` (schema of metrics.json)."""
    encoded, report = model.encoder.encode_pairs(pairs, overlong)
    metrics, _, _ = evaluate_encoded(
        model, pairs, encoded, report, batch_size=batch_size, progress=progress
    )
    return metrics
