"""Paired bootstrap intervals between two uncertainty measures on the same pairs.

Does measure B tell right from wrong rankings better than measure A? Each measure comes with
the correctness of the ranking it judges — ``(uncertainty (N,), correct (N,))`` over the same
N pairs; an ensemble's measure judges the ensemble's ranking, so the two may disagree on which
pairs are wrong. The pairs are resampled with replacement (Efron & Tibshirani 1993, "An
Introduction to the Bootstrap", ch. 13), *the same resample for both measures*, and each
selective-prediction figure of :mod:`rewardkit.eval.uncertainty` is computed again on it; the
95% interval of B − A is the 2.5th–97.5th percentile of the resampled differences. Pairing
cancels what the measures share (which pairs are hard), so the interval is much tighter than
two separate ones.

Figures (:data:`FIGURES`): error AUROC (higher is better), AURC (lower is better) and the
accuracy of the most certain 50% and 80% of pairs (higher is better). A resample in which one
measure has no wrong (or no right) pair has no AUROC; it is left out of that figure's interval
and counted.
"""

from __future__ import annotations

import numpy as np

from rewardkit.eval.uncertainty import accuracy_coverage, auroc

FIGURES = ("error_auroc", "aurc", "accuracy_at_50", "accuracy_at_80")
LOWER_IS_BETTER = frozenset({"aurc"})


def selective_figures(uncertainty: np.ndarray, correct: np.ndarray) -> dict[str, float | None]:
    """The :data:`FIGURES` of one measure (higher uncertainty = less certain)."""
    correct = np.asarray(correct, dtype=bool)
    curve = accuracy_coverage(uncertainty, correct)
    return {
        "error_auroc": auroc(uncertainty, ~correct),
        "aurc": curve["aurc"],
        "accuracy_at_50": curve["accuracy_at"].get("0.5"),
        "accuracy_at_80": curve["accuracy_at"].get("0.8"),
    }


def paired_bootstrap(
    reference: tuple[np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, dict]:
    """Per figure: ``reference`` and ``other`` on all pairs, ``difference`` (other −
    reference), its paired percentile ``ci95``, whether the interval ``excludes_zero``, and
    ``better``: whether it shows ``other`` better (above 0, or below 0 for AURC)."""
    ref_u, ref_c = (np.asarray(a) for a in reference)
    oth_u, oth_c = (np.asarray(a) for a in other)
    n = ref_u.size
    if not (ref_c.size == oth_u.size == oth_c.size == n):
        raise ValueError("both measures must cover the same pairs")
    point_ref, point_oth = selective_figures(ref_u, ref_c), selective_figures(oth_u, oth_c)
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n)) if n else None
    samples = {name: np.full(n_boot, np.nan) for name in FIGURES}
    for b in range(n_boot if n else 0):
        rows = draws[b]
        a = selective_figures(ref_u[rows], ref_c[rows])
        o = selective_figures(oth_u[rows], oth_c[rows])
        for name in FIGURES:
            if a[name] is not None and o[name] is not None:
                samples[name][b] = o[name] - a[name]
    out = {}
    for name in FIGURES:
        out[name] = _interval(point_ref[name], point_oth[name], samples[name], name)
    return out


def _interval(ref: float | None, other: float | None, diffs: np.ndarray, name: str) -> dict:
    kept = diffs[~np.isnan(diffs)]
    block = {
        "reference": ref,
        "value": other,
        "difference": None if ref is None or other is None else other - ref,
        "ci95": None,
        "excludes_zero": False,
        "better": False,
        "resamples": int(kept.size),
        "resamples_left_out": int(diffs.size - kept.size),
    }
    if kept.size:
        lo, hi = (float(v) for v in np.percentile(kept, [2.5, 97.5]))
        block["ci95"] = [lo, hi]
        block["excludes_zero"] = not lo <= 0.0 <= hi
        block["better"] = hi < 0 if name in LOWER_IS_BETTER else lo > 0
    return block
