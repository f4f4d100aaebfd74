"""Pairwise metrics from rewards: accuracy, margin, Bradley–Terry log-loss (−log P(chosen ≻
rejected) under the model's stored calibration, :mod:`rewardkit.bradley_terry`), and the
bootstrap intervals over pairs they are reported with (one sample; two paired samples).

Tie rule: a pair counts as correct only when ``r_chosen > r_rejected`` strictly
(RewardBench's rule); pairs labelled as ties are left out of accuracy and counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rewardkit.bradley_terry import UNCALIBRATED, Calibration, log_sigmoid


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


def paired_bootstrap(
    values_a: np.ndarray, values_b: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean(b − a), lower, upper)`` of per-pair figures ``a``, ``b`` on the same pairs
    (two models' 0/1 correctness, two calibrators' log-losses): the 95% percentile interval
    of the mean difference over resampled pair indices, the same indices for both (Efron &
    Tibshirani 1993), so what the pairs share cancels."""
    a = np.asarray(values_a, dtype=np.float64)
    b = np.asarray(values_b, dtype=np.float64)
    if a.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    diff = b - a
    draws = rng.integers(0, a.size, size=(n_boot, a.size))
    means = diff[draws].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def accuracy_block(
    r_chosen: np.ndarray,
    r_rejected: np.ndarray,
    *,
    calibration: Calibration = UNCALIBRATED,
    ci: bool = True,
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
        "bt_loss": float(-log_sigmoid(calibration.logit(delta)).mean()),
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
    calibration: Calibration = UNCALIBRATED,
) -> dict:
    """The core metrics block shared by training's metrics.json and ``rewardkit eval``."""
    r_chosen, r_rejected = np.asarray(r_chosen), np.asarray(r_rejected)
    tie = np.asarray(tie, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool)
    keep = ~tie
    out = accuracy_block(r_chosen[keep], r_rejected[keep], calibration=calibration)
    out["ties"] = int(tie.sum())
    fits = keep & ~truncated
    out["fits_max_length"] = accuracy_block(
        r_chosen[fits], r_rejected[fits], calibration=calibration, ci=False
    )
    per_subset = {}
    names = np.array([s if s is not None else "" for s in subset], dtype=object)
    for name in sorted(set(names[keep])):
        rows = keep & (names == name)
        per_subset[name or "(none)"] = accuracy_block(
            r_chosen[rows], r_rejected[rows], calibration=calibration
        )
    if len(per_subset) > 1 or (per_subset and "(none)" not in per_subset):
        out["per_subset"] = per_subset
    everything = np.concatenate([r_chosen, r_rejected])
    out["reward_mean"] = float(everything.mean()) if everything.size else None
    out["reward_std"] = float(everything.std()) if everything.size else None
    return out
