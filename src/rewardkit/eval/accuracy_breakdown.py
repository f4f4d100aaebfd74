"""Accuracy broken down: by preference strength, by RewardBench-style section, and ties.

* **Strength.** Pairs with margins (Llama 2's preference strength, Touvron et al. 2023) are
  grouped by margin value (at most 6 distinct values) or margin quartile; pairs built from
  votes by agreement (``"3/3"``, ``"2/3"``: winning votes / votes). Low-agreement pairs bound
  what any model can reach (the noise ceiling).
* **Sections** (RewardBench, Lambert et al. 2024, arXiv 2403.13787): subsets are grouped into
  sections, either by a ``"section/subset"`` subset name or by RewardBench v1's own subset
  names; a section score averages its subsets' accuracies weighted by their pair counts
  (RewardBench's prompt-count weighting; in Reasoning, math-prm is weighted like all code
  subsets together, as RewardBench does). The overall score is the mean of the sections.
* **Ties.** Tied pairs never count in accuracy; their mean |Δ| is reported beside that of
  non-tie pairs (a model that "sees" ties gives them smaller gaps).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rewardkit.bradley_terry import UNCALIBRATED, Calibration
from rewardkit.data.records import PreferencePair
from rewardkit.eval.pairwise import accuracy_block

REWARDBENCH_SECTIONS = {
    "Chat": (
        "alpacaeval-easy",
        "alpacaeval-length",
        "alpacaeval-hard",
        "mt-bench-easy",
        "mt-bench-med",
    ),
    "Chat Hard": (
        "mt-bench-hard",
        "llmbar-natural",
        "llmbar-adver-neighbor",
        "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut",
        "llmbar-adver-manual",
    ),
    "Safety": (
        "refusals-dangerous",
        "refusals-offensive",
        "xstest-should-refuse",
        "xstest-should-respond",
        "donotanswer",
    ),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}
_SECTION_OF = {s: sec for sec, subsets in REWARDBENCH_SECTIONS.items() for s in subsets}


def strength_labels(pairs: Sequence[PreferencePair]) -> tuple[str, list[str]] | None:
    """``(kind, label per pair)`` or None when the data has no preference strength."""
    votes = [p.extra.get("votes") if isinstance(p.extra, dict) else None for p in pairs]
    if any(isinstance(v, dict) and v for v in votes):
        labels = []
        for v in votes:
            if not isinstance(v, dict) or not v:
                labels.append("unknown")
                continue
            total = sum(int(x) for x in v.values())
            labels.append(f"{max(int(x) for x in v.values())}/{total}")
        return "vote agreement", labels
    margins = np.array([float(p.margin) for p in pairs])
    if margins.size == 0 or not np.any(margins):
        return None
    distinct = np.unique(margins)
    if distinct.size <= 6:
        return "margin", [f"margin {m:g}" for m in margins]
    edges = np.quantile(margins, [0.25, 0.5, 0.75])
    which = np.searchsorted(edges, margins, side="right")
    bounds = [margins.min(), *edges, margins.max()]
    names = [f"margin q{q + 1} [{bounds[q]:.3g}, {bounds[q + 1]:.3g}]" for q in range(4)]
    return "margin quartile", [names[w] for w in which]


def accuracy_by_strength(
    pairs: Sequence[PreferencePair],
    r_chosen: np.ndarray,
    r_rejected: np.ndarray,
    calibration: Calibration = UNCALIBRATED,
) -> dict | None:
    """Accuracy (with a 95% bootstrap interval) per strength bucket, non-tie pairs only."""
    found = strength_labels(pairs)
    if found is None:
        return None
    kind, labels = found
    labels_arr = np.array(labels, dtype=object)
    keep = np.array([not p.tie for p in pairs], dtype=bool)
    buckets = {}
    for name in sorted(set(labels_arr[keep])):
        rows = keep & (labels_arr == name)
        buckets[name] = accuracy_block(r_chosen[rows], r_rejected[rows], calibration=calibration)
    return {"by": kind, "buckets": buckets}


def section_of(subset: str) -> str | None:
    if "/" in subset:
        return subset.split("/", 1)[0]
    return _SECTION_OF.get(subset)


def section_scores(per_subset: dict[str, dict]) -> dict | None:
    """RewardBench-style section scores from per-subset accuracy blocks (None if no subset
    belongs to a section)."""
    grouped: dict[str, dict[str, dict]] = {}
    for subset, block in per_subset.items():
        section = section_of(subset)
        if section is not None and block.get("accuracy") is not None:
            grouped.setdefault(section, {})[subset] = block
    if not grouped:
        return None
    sections = {}
    for section, blocks in grouped.items():
        weights = {s: float(b["n"]) for s, b in blocks.items()}
        if section == "Reasoning" and "math-prm" in weights:
            code = sum(w for s, w in weights.items() if s != "math-prm")
            if code:
                weights["math-prm"] = code
        total = sum(weights.values())
        score = sum(weights[s] * blocks[s]["accuracy"] for s in blocks) / total
        sections[section] = {
            "score": float(score),
            "subsets": sorted(blocks),
            "n": int(sum(b["n"] for b in blocks.values())),
        }
    return {
        "sections": sections,
        "score": float(np.mean([s["score"] for s in sections.values()])),
        "weighting": "subset accuracies weighted by pair count (RewardBench)",
    }


def tie_summary(r_chosen: np.ndarray, r_rejected: np.ndarray, tie: np.ndarray) -> dict:
    """How the model treats labelled ties: count and mean |Δ| on ties vs non-ties."""
    gap = np.abs(np.asarray(r_chosen, dtype=np.float64) - np.asarray(r_rejected, dtype=np.float64))
    tie = np.asarray(tie, dtype=bool)
    return {
        "n": int(tie.sum()),
        "rule": "ties are left out of accuracy and counted here",
        "mean_abs_margin_ties": float(gap[tie].mean()) if tie.any() else None,
        "mean_abs_margin_non_ties": float(gap[~tie].mean()) if (~tie).any() else None,
    }


def reward_distribution(r_chosen: np.ndarray, r_rejected: np.ndarray) -> dict:
    """Mean, std and quartiles of chosen and rejected rewards (the plot's numbers)."""

    def describe(values):
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            return {"n": 0}
        q = np.percentile(values, [25, 50, 75])
        return {
            "n": int(values.size),
            "mean": float(values.mean()),
            "std": float(values.std()),
            "q25": float(q[0]),
            "median": float(q[1]),
            "q75": float(q[2]),
        }

    return {"chosen": describe(r_chosen), "rejected": describe(r_rejected)}
