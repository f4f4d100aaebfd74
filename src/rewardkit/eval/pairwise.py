"""Pairwise metrics from rewards: accuracy, margin, Bradley–Terry log-loss.

Tie rule: a pair counts as correct only when ``r_chosen > r_rejected`` strictly
(RewardBench's rule); pairs labelled as ties are left out of accuracy and counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rewardkit.bradley_terry import log_sigmoid


def bootstrap_ci(
    correct: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``correct`` (resampling pairs)."""
    if len(correct) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = rng.choice(correct, size=(n_boot, len(correct)), replace=True).mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def accuracy_block(
    r_chosen: np.ndarray, r_rejected: np.ndarray, *, temperature: float = 1.0, ci: bool = True
) -> dict:
    """Accuracy (with a 95% bootstrap interval), mean margin and BT loss of non-tie pairs."""
    delta = np.asarray(r_chosen, dtype=np.float64) - np.asarray(r_rejected, dtype=np.float64)
    n = int(delta.size)
    if n == 0:
        return {"n": 0, "accuracy": None, "mean_margin": None, "bt_loss": None}
    correct = (delta > 0).astype(np.float64)
    block = {
        "n": n,
        "accuracy": float(correct.mean()),
        "mean_margin": float(delta.mean()),
        "bt_loss": float(-log_sigmoid(delta / temperature).mean()),
    }
    if ci:
        block["accuracy_ci95"] = list(bootstrap_ci(correct))
    return block


def pairwise_metrics(
    r_chosen: np.ndarray,
    r_rejected: np.ndarray,
    *,
    tie: Sequence[bool],
    subset: Sequence[str | None],
    truncated: Sequence[bool],
    temperature: float = 1.0,
) -> dict:
    """The core metrics block shared by training's metrics.json and ``rewardkit eval``."""
    r_chosen, r_rejected = np.asarray(r_chosen), np.asarray(r_rejected)
    tie = np.asarray(tie, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool)
    keep = ~tie
    out = accuracy_block(r_chosen[keep], r_rejected[keep], temperature=temperature)
    out["ties"] = int(tie.sum())
    fits = keep & ~truncated
    out["fits_max_length"] = accuracy_block(
        r_chosen[fits], r_rejected[fits], temperature=temperature, ci=False
    )
    per_subset = {}
    names = np.array([s if s is not None else "" for s in subset], dtype=object)
    for name in sorted(set(names[keep])):
        rows = keep & (names == name)
        per_subset[name or "(none)"] = accuracy_block(
            r_chosen[rows], r_rejected[rows], temperature=temperature
        )
    if len(per_subset) > 1 or (per_subset and "(none)" not in per_subset):
        out["per_subset"] = per_subset
    everything = np.concatenate([r_chosen, r_rejected])
    out["reward_mean"] = float(everything.mean()) if everything.size else None
    out["reward_std"] = float(everything.std()) if everything.size else None
    return out
