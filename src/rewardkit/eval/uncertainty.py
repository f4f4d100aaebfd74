"""Uncertainty: does the model know when it is wrong?

Selective prediction (Geifman & El-Yaniv 2017, "Selective Classification for Deep Neural
Networks"): sort pairs from most to least certain, and report the accuracy of the most certain
fraction c of pairs — the **accuracy–coverage curve** — and the area under the risk–coverage
curve (AURC, lower is better). The **error AUROC** is the probability that a randomly chosen
wrongly ranked pair is more uncertain than a randomly chosen correctly ranked one (ties count
½; Mann–Whitney U / (n_wrong · n_right), Hanley & McNeil 1982): 0.5 is chance, 1 is perfect.

Uncertainty measures:

* ``spread``: the std over ensemble members (ddof 0) of Δ_k = r_k(chosen) − r_k(rejected)
  (deep ensembles, Lakshminarayanan et al. 2017; for reward models Coste et al. 2023,
  arXiv 2310.02743) — needs an ensemble; it is the per-pair spread reported and used by the
  OOD flag;
* ``probability_spread``: the std over members of p_k = P(Δ_k) — the same disagreement where
  it changes the predicted preference (large |Δ| saturates σ);
* ``margin``: 1 − |2p − 1| with p = P(Δ), available for any model;
* ``mc_dropout``: the std over T stochastic passes with dropout on (ddof 0) of Δ_t (Gal &
  Ghahramani 2016; :mod:`rewardkit.model.mc_dropout`) — with ``rewardkit eval --mc-dropout T``,
  for one model; the reward stays the deterministic one;

where P(Δ) = σ(sign(Δ)·|Δ/T|^γ) under the model's stored calibration
(:class:`rewardkit.bradley_terry.Calibration`; σ(Δ/T) when γ = 1).

**The default uncertainty** (:data:`PAIR_UNCERTAINTY`) is the measure served as a pair's
``uncertainty`` (two-response ``/score``, eval's ``pairs.jsonl``; every measure is in the rows'
``uncertainties``), that leads the printed summary and stands first in the report: the one
that predicted errors best where it was measured. ``bench/uncertainty.py`` measures every
measure on the canonical hh-rlhf eval split with paired bootstrap intervals against the margin
(BENCHMARKS.md, "Uncertainty that predicts errors"); a measure replaces the margin only when it
beats it there by a paired interval that excludes 0. None did (2026-11-30: the margin's error
AUROC 0.62; the bootstrap heads' spread 0.41, MC dropout 0.45 and two seed members' spread
0.47, all significantly *worse* on the same model's errors), so the margin — the only measure
every model has — is the default. (The OOD flag's spread threshold is a separate rule,
:mod:`rewardkit.eval.ood`; :mod:`rewardkit.eval.selective_bootstrap` holds the paired
intervals.)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from rewardkit.bradley_terry import UNCALIBRATED, Calibration

COVERAGE_POINTS = 50
PAIR_UNCERTAINTY = "margin"  # the default: see the module docstring (measured, not assumed)
MARGIN_FORMULA = "1 − |2p − 1|, p = σ(sign(Δ)·|Δ/T|^γ) (the stored calibration)"
MEASURES = {
    "margin": MARGIN_FORMULA,
    "spread": "std over members (ddof 0) of Δ_k = r_k(chosen) − r_k(rejected)",
    "probability_spread": "std over members (ddof 0) of p_k = σ(sign(Δ_k)·|Δ_k/T|^γ)",
    "mc_dropout": "std over T passes with dropout on (ddof 0) of Δ_t",
}


def margin_uncertainty(delta: np.ndarray, calibration: Calibration = UNCALIBRATED) -> np.ndarray:
    """``1 − |2p − 1|``, ``p = P(Δ)`` under ``calibration``: 1 for a coin flip, 0 for a
    certain preference."""
    p = calibration.probability(np.asarray(delta, dtype=np.float64))
    return 1.0 - np.abs(2 * p - 1)


def member_spread(delta_members: np.ndarray) -> np.ndarray:
    """Std over members (ddof 0) of ``Δ_k (K, N)`` → ``(N,)``."""
    return np.atleast_2d(np.asarray(delta_members, dtype=np.float64)).std(axis=0)


def probability_spread(
    delta_members: np.ndarray, calibration: Calibration = UNCALIBRATED
) -> np.ndarray:
    """Std over members (ddof 0) of ``P(Δ_k)`` under ``calibration`` → ``(N,)``."""
    members = np.atleast_2d(np.asarray(delta_members, dtype=np.float64))
    return calibration.probability(members).std(axis=0)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float | None:
    """P(score of a random positive > score of a random negative), ties ½. None if a class
    is empty."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)  # average ranks handle ties
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def accuracy_coverage(
    uncertainty: np.ndarray, correct: np.ndarray, points: int = COVERAGE_POINTS
) -> dict:
    """Accuracy of the most certain ⌈c·n⌉ pairs for c in (0, 1], AURC, and accuracy at 50% /
    80% coverage. Pairs with equal uncertainty enter together in input order (stable sort)."""
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    n = int(correct.size)
    if n == 0:
        return {"n": 0, "coverage": [], "accuracy": [], "aurc": None, "accuracy_at": {}}
    order = np.argsort(uncertainty, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, n + 1)
    aurc = float(np.mean(1.0 - running))

    def at(coverage: float) -> float:
        return float(running[max(int(np.ceil(coverage * n)), 1) - 1])

    grid = np.linspace(1.0 / points, 1.0, points)
    return {
        "n": n,
        "coverage": [float(c) for c in grid],
        "accuracy": [at(c) for c in grid],
        "aurc": aurc,
        "accuracy_at": {"0.5": at(0.5), "0.8": at(0.8), "1.0": at(1.0)},
    }


def pair_uncertainties(
    delta_members: np.ndarray,
    calibration: Calibration = UNCALIBRATED,
    mc_deltas: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each available measure (:data:`MEASURES`) of N pairs, ``(N,)`` each, higher = less
    certain: from per-member differences ``Δ (K, N)`` (K = 1 for one model) and, with MC
    dropout, the passes' differences ``(T, N)``. The pairs' Δ is the members' mean."""
    delta_members = np.atleast_2d(np.asarray(delta_members, dtype=np.float64))
    out = {"margin": margin_uncertainty(delta_members.mean(axis=0), calibration)}
    if delta_members.shape[0] > 1:
        out["spread"] = member_spread(delta_members)
        # the same disagreement in probability space: large gaps saturate σ, so confident
        # pairs stop looking uncertain merely because their rewards are large
        out["probability_spread"] = probability_spread(delta_members, calibration)
    if mc_deltas is not None:
        out["mc_dropout"] = member_spread(mc_deltas)
    return out


def measure_block(uncertainty: np.ndarray, wrong: np.ndarray, name: str) -> dict:
    """One measure's figures: its description, error AUROC and accuracy–coverage curve."""
    return {
        "description": MEASURES[name],
        "error_auroc": auroc(uncertainty, wrong),
        "accuracy_coverage": accuracy_coverage(uncertainty, ~wrong),
    }


def uncertainty_section(
    delta_members: np.ndarray,
    calibration: Calibration = UNCALIBRATED,
    mc_dropout: np.ndarray | None = None,
) -> dict:
    """The ``uncertainty`` block from per-member differences ``Δ (K, N)`` of non-tie pairs
    (and, with MC dropout, the passes' ``(T, N)``).

    The ensemble's ranking is the sign of the mean Δ; a pair is wrong when it is ≤ 0."""
    delta_members = np.atleast_2d(np.asarray(delta_members, dtype=np.float64))
    k, n = delta_members.shape
    delta = delta_members.mean(axis=0)
    wrong = delta <= 0
    values = pair_uncertainties(delta_members, calibration, mc_dropout)
    out = {
        "n": n,
        "members": k,
        "error_rate": float(wrong.mean()) if n else None,
        "default": PAIR_UNCERTAINTY,
        "margin": measure_block(values["margin"], wrong, "margin"),
    }
    if "mc_dropout" in values:
        out["mc_dropout"] = measure_block(values["mc_dropout"], wrong, "mc_dropout")
        out["mc_dropout"]["mean"] = float(values["mc_dropout"].mean()) if n else None
    if k > 1 and n:
        spread = values["spread"]
        member_correct = (delta_members > 0).mean(axis=1)
        agree = (np.sign(delta_members) == np.sign(delta)[None, :]).all(axis=0)
        out["spread"] = {
            **measure_block(spread, wrong, "spread"),
            "mean": float(spread.mean()),
            "median": float(np.median(spread)),
            "p95": float(np.percentile(spread, 95)),
            "spearman_with_abs_margin": _spearman(spread, np.abs(delta)),
        }
        out["probability_spread"] = {
            **measure_block(values["probability_spread"], wrong, "probability_spread"),
            "mean": float(values["probability_spread"].mean()),
        }
        out["member_accuracy"] = [float(a) for a in member_correct]
        out["members_agree_fraction"] = float(agree.mean())
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)
