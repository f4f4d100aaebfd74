"""Conservative rewards from an ensemble: one home for mean, worst case and uncertainty-weighted.

Coste et al. 2023 ("Reward Model Ensembles Help Mitigate Overoptimization", arXiv 2310.02743)
optimize against a conservative combination of K reward models instead of one:

=========  ======================================================================
aggregate  reward of one text, from its members' normalized rewards r_1 … r_K
=========  ======================================================================
mean       (1/K) Σ_k r_k
min        min_k r_k                                  (worst-case optimization, WCO)
uwo        mean − λ · Var_k(r_k), variance with ddof 0 (uncertainty-weighted, UWO)
=========  ======================================================================

Each member's reward is first put on a common scale with its own stored normalization
``(r − mean) / std`` (members ensembles: each member folder's; heads ensembles share the one
stored normalization), as Coste et al. do, so that a member with a wider raw scale neither
dominates the minimum nor inflates the variance. Aggregated rewards are in these normalized
units. ``min`` and ``uwo`` need at least two members; one model is refused with one line.
Used by ``rewardkit serve``, ``bon``, ``label-pairs`` and ``overopt``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rewardkit.errors import UserError

if TYPE_CHECKING:  # numpy is loaded when a reward is aggregated, not for `--help`
    import numpy as np

AGGREGATES = ("mean", "min", "uwo")
DEFAULT_UWO_LAMBDA = 0.5  # Coste et al.'s best-of-n setting


def aggregate_members(normalized: "np.ndarray", method: str, uwo_lambda: float) -> "np.ndarray":
    """``(N,)`` aggregate of ``normalized`` members' rewards ``(K, N)`` (module table)."""
    import numpy as np

    members = np.asarray(normalized, dtype=np.float64)
    if method == "mean":
        return members.mean(axis=0)
    if method == "min":
        return members.min(axis=0)
    if method == "uwo":
        return members.mean(axis=0) - uwo_lambda * members.var(axis=0)
    raise UserError(f"unknown aggregate {method!r}; use one of {', '.join(AGGREGATES)}")


def check_aggregate(method: str, members: int, source: str = "the model") -> None:
    """Refuse an unknown aggregate, or ``min``/``uwo`` over fewer than two members."""
    if method not in AGGREGATES:
        raise UserError(f"unknown --aggregate {method!r}; use one of {', '.join(AGGREGATES)}")
    if method != "mean" and members < 2:
        raise UserError(
            f"--aggregate {method} needs an ensemble, and {source} is a single model; pass an "
            "ensemble folder or DIR1,DIR2,…, or use --aggregate mean"
        )


def describe_aggregate(method: str, uwo_lambda: float) -> dict:
    """What a response says about how its reward was aggregated."""
    formula = {
        "mean": "mean over members",
        "min": "minimum over members' normalized rewards",
        "uwo": f"mean − {uwo_lambda:g}·variance over members' normalized rewards",
    }[method]
    return {
        "method": method,
        "uwo_lambda": uwo_lambda if method == "uwo" else None,
        "formula": formula,
    }
