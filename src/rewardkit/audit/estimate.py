"""How many labels are flipped: shares of negative margins, and a confident-learning estimate.

``share_negative``
    the share of pairs whose mean out-of-fold margin is negative: Wang et al. (2024, "Secrets
    of RLHF part II", arXiv 2401.06080, §2.1) report about 25% for the full hh-rlhf training
    set under an ensemble of ten reward models (trained in-sample, not out of fold).
``share_confident_negative``
    the share the audit calls ``likely-flipped``.
``estimated_flip_share``
    confident learning (Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating
    Uncertainty in Dataset Labels", JAIR 70) for the symmetric binary case: with ``p_i`` the
    out-of-fold P(label right), the per-class threshold is the average self-confidence
    ``t = mean(p_i)`` (each pair and its mirror image give both classes the same threshold),
    and a label counts as flipped when ``1 − p_i ≥ t``. The estimate is the counted share. It
    is checked against planted flips on the demo world (``bench/audit_planted.py``); on real
    data it is an estimate with that caveat and a bootstrap interval over pairs.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 1000
MIN_GROUP = 20  # pairs a subset or annotator needs before it gets estimates of its own


def confident_flip_share(p_right: np.ndarray) -> float:
    """The confident-learning share of flipped labels (module docstring)."""
    if len(p_right) == 0:
        return float("nan")
    threshold = float(np.mean(p_right))
    return float(np.mean(1.0 - p_right >= threshold))


def bootstrap_interval(
    p_right: np.ndarray, statistic, *, draws: int = BOOTSTRAP, seed: int = 0
) -> list[float]:
    """The 2.5% and 97.5% percentiles of ``statistic`` over resamples of the pairs."""
    if len(p_right) == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    values = [statistic(p_right[rng.integers(0, len(p_right), len(p_right))]) for _ in range(draws)]
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def _share_negative(p_right: np.ndarray) -> float:
    return float(np.mean(p_right < 0.5)) if len(p_right) else float("nan")


def flip_estimates(p_right: np.ndarray, confident: np.ndarray, *, seed: int = 0) -> dict:
    """The three shares of the module docstring, each with a bootstrap interval (95%)."""
    p_right = np.asarray(p_right, dtype=np.float64)
    confident = np.asarray(confident, dtype=np.float64)
    return {
        "n": int(len(p_right)),
        "share_negative": _share_negative(p_right),
        "share_negative_ci95": bootstrap_interval(p_right, _share_negative, seed=seed),
        "share_confident_negative": float(confident.mean()) if len(confident) else float("nan"),
        "share_confident_negative_ci95": bootstrap_interval(
            confident, lambda c: float(np.mean(c)), seed=seed
        ),
        "estimated_flip_share": confident_flip_share(p_right),
        "estimated_flip_share_ci95": bootstrap_interval(p_right, confident_flip_share, seed=seed),
        "estimator": "confident learning (Northcutt et al. 2021), symmetric binary threshold",
    }


def group_estimates(
    p_right: np.ndarray, confident: np.ndarray, names: list[str | None], *, seed: int = 0
) -> dict[str, dict]:
    """:func:`flip_estimates` per named group (subset or annotator) with at least
    :data:`MIN_GROUP` pairs; ``{}`` when the data names none."""
    names_array = np.array([name if name is not None else "" for name in names], dtype=object)
    out = {}
    for name in sorted(set(names_array) - {""}):
        rows = names_array == name
        if rows.sum() >= MIN_GROUP:
            out[name] = flip_estimates(p_right[rows], confident[rows], seed=seed)
    return out
