"""Out-of-distribution flags: Mahalanobis distance in feature space, and ensemble spread.

Feature-space distance (Lee et al. 2018, "A Simple Unified Framework for Detecting
Out-of-Distribution Samples and Adversarial Attacks", NeurIPS; Bai et al. 2022 used it on
reward-model activations): fit the mean μ and covariance Σ of the training texts' head-input
features (:mod:`rewardkit.model.features`), then

    d(x) = sqrt((f(x) − μ)ᵀ Σ⁻¹ (f(x) − μ))

Σ is the Ledoit–Wolf (2004) shrinkage estimate (1 − s)·S + s·(tr S / H)·I, invertible even
with fewer texts than dimensions. A pair's distance is the larger of its two responses'.

A pair is **flagged** when its distance, or its ensemble spread, exceeds the 95th percentile
of the same quantity on the training pairs. For the distance that percentile is taken
*out of fold* (5 folds: each fold's distances under statistics fitted on the other four), so
held-out in-distribution pairs are flagged about 5% of the time instead of far more (a
training text is always closer to statistics fitted on itself).

A single text (a served reward, a ``rewardkit score`` row) gets its distance as a
**percentile** of the training texts' own out-of-fold distances (the share of them at most as
far, in %; the same folds), and is flagged when that percentile exceeds the same quantile
(95): a text further than 95% of the training texts. The sorted reference distances are
stored with the statistics; files saved before they were (no ``text_distances``) still load,
and give distances without percentiles.

Training stores the statistics in ``feature_stats.safetensors`` next to the model, with the
fraction of its held-out eval split that is flagged (the in-distribution reference);
foreign models get them from ``rewardkit eval --reference-data FILE``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from rewardkit.data.splits import fold_assignments
from rewardkit.eval.uncertainty import accuracy_coverage
from rewardkit.model.features import by_row_blocks

STATS_FILE = "feature_stats.safetensors"
QUANTILE = 0.95


def ledoit_wolf(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(mean (H,), shrunk covariance (H, H), shrinkage s)`` of ``features (N, H)``
    (Ledoit & Wolf 2004, "A well-conditioned estimator for large-dimensional covariance
    matrices"; the same estimator as scikit-learn's ``LedoitWolf``)."""
    x = np.asarray(features, dtype=np.float64)
    n, h = x.shape
    mean = x.mean(axis=0)
    x = x - mean
    sample = x.T @ x / n
    mu = np.trace(sample) / h
    if n < 2:
        return mean, mu * np.eye(h) if mu > 0 else np.eye(h), 1.0
    x2 = x**2
    beta_sum = np.sum(x2.T @ x2)
    delta_sum = np.sum((x.T @ x) ** 2) / n**2
    beta = (beta_sum / n - delta_sum) / (h * n)
    delta = (delta_sum - 2 * mu * np.trace(sample) + h * mu**2) / h
    beta = min(beta, delta)
    shrinkage = 0.0 if beta <= 0 else float(beta / delta)
    if shrinkage == 0 and n - 1 < h:
        # the sample covariance has rank ≤ n − 1 < h (e.g. two texts): not invertible, and the
        # estimate's formula gives no shrinkage to repair it; use the target, μ·I
        shrinkage = 1.0
    covariance = (1 - shrinkage) * sample + shrinkage * mu * np.eye(h)
    if mu == 0:  # all features identical
        covariance = np.eye(h)
    return mean, covariance, shrinkage


def mahalanobis(features: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``sqrt((f − μ)ᵀ P (f − μ))`` per row of ``features (N, H)``, ``P = Σ⁻¹``: a matrix
    product (``(f − μ) P``, BLAS) and a row-wise dot product, in row blocks
    (:func:`rewardkit.model.features.by_row_blocks`: a text's distance does not depend on the
    texts measured with it)."""

    def squared(rows: np.ndarray) -> np.ndarray:
        centred = np.asarray(rows, dtype=np.float64) - mean
        return np.einsum("ij,ij->i", centred @ precision, centred)

    return np.sqrt(np.maximum(by_row_blocks(squared, features), 0.0))


@dataclass
class FeatureStatistics:
    """What ``feature_stats.safetensors`` holds (arrays) and its metadata (the rest)."""

    mean: np.ndarray
    covariance: np.ndarray
    shrinkage: float
    distance_threshold: float
    spread_threshold: float | None = None
    quantile: float = QUANTILE
    n_pairs: int = 0
    reference: str = "training pairs"
    heldout: dict = field(default_factory=dict)  # flagged fractions on the held-out split
    # the training texts' own distances, sorted (out of fold when there were enough pairs);
    # None in files saved before they were stored: no percentiles then
    text_distances: np.ndarray | None = None
    text_reference: str = ""  # how text_distances were measured, in words

    def __post_init__(self):
        self.precision = np.linalg.inv(self.covariance)
        if self.text_distances is not None:
            self.text_distances = np.sort(np.asarray(self.text_distances, dtype=np.float64))

    def distance(self, features: np.ndarray) -> np.ndarray:
        """``(N,)`` distance of each text's features ``(N, H)``."""
        return mahalanobis(features, self.mean, self.precision)

    def pair_distance(self, chosen: np.ndarray, rejected: np.ndarray) -> np.ndarray:
        return np.maximum(self.distance(chosen), self.distance(rejected))

    @property
    def has_percentiles(self) -> bool:
        return self.text_distances is not None and self.text_distances.size > 0

    def percentile(self, distance: np.ndarray) -> np.ndarray:
        """``100 · #{reference distances ≤ d} / n`` for each distance ``d`` (the empirical
        distribution function of the training texts' distances, in %)."""
        if not self.has_percentiles:
            raise ValueError("these statistics hold no reference distances (an older file)")
        ranks = np.searchsorted(self.text_distances, np.asarray(distance), side="right")
        return 100.0 * ranks / self.text_distances.size

    @property
    def flag_percentile(self) -> float:
        """A text is flagged when its percentile exceeds this (``100 · quantile``)."""
        return 100.0 * self.quantile

    def text_flags(self, percentile: np.ndarray) -> np.ndarray:
        return np.asarray(percentile) > self.flag_percentile

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / STATS_FILE
        meta = {
            "shrinkage": self.shrinkage,
            "distance_threshold": self.distance_threshold,
            "spread_threshold": self.spread_threshold,
            "quantile": self.quantile,
            "n_pairs": self.n_pairs,
            "reference": self.reference,
            "heldout": self.heldout,
            "distance": "Mahalanobis, Ledoit-Wolf covariance; pair = max of its two texts",
            "text_reference": self.text_reference,
        }
        arrays = {
            "mean": self.mean.astype(np.float64),
            "covariance": self.covariance.astype(np.float64),
        }
        if self.text_distances is not None:
            arrays["text_distances"] = self.text_distances.astype(np.float64)
        save_file(arrays, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})
        return path

    @classmethod
    def load(cls, directory: str | Path) -> "FeatureStatistics | None":
        path = Path(directory) / STATS_FILE
        if not path.is_file():
            return None
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            meta = {k: json.loads(v) for k, v in (handle.metadata() or {}).items()}
        arrays = load_file(str(path))
        return cls(
            arrays["mean"],
            arrays["covariance"],
            float(meta.get("shrinkage", 0.0)),
            float(meta["distance_threshold"]),
            meta.get("spread_threshold"),
            float(meta.get("quantile", QUANTILE)),
            int(meta.get("n_pairs", 0)),
            str(meta.get("reference", "training pairs")),
            meta.get("heldout") or {},
            arrays.get("text_distances"),
            str(meta.get("text_reference", "")),
        )


def fit_feature_statistics(
    chosen: np.ndarray,
    rejected: np.ndarray,
    *,
    spread: np.ndarray | None = None,
    quantile: float = QUANTILE,
    folds: int = 5,
    seed: int = 0,
    reference: str = "training pairs",
    max_pairs: int = 20000,
    groups: np.ndarray | None = None,
) -> FeatureStatistics:
    """Statistics of training pair features ``(N, H)`` each, with the out-of-fold distance
    threshold, the training texts' out-of-fold distances (the percentiles' reference) and
    (given the training pairs' ensemble spread) the spread threshold. ``groups`` (e.g. prompt
    hashes, one per pair) keep each group's pairs in one fold."""
    chosen, rejected = np.asarray(chosen), np.asarray(rejected)
    n = chosen.shape[0]
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=max_pairs, replace=False)) if n > max_pairs else np.arange(n)
    chosen, rejected = chosen[rows], rejected[rows]
    n = rows.size
    mean, covariance, shrinkage = ledoit_wolf(np.concatenate([chosen, rejected]))
    d_chosen, d_rejected = np.empty(n), np.empty(n)  # each text's distance
    if n >= 2 * folds:
        fold_of = fold_assignments(
            n, folds, rng, None if groups is None else np.asarray(groups)[rows]
        )
        for fold in range(folds):
            test = fold_of == fold
            m, c, _ = ledoit_wolf(np.concatenate([chosen[~test], rejected[~test]]))
            p = np.linalg.inv(c)
            d_chosen[test], d_rejected[test] = (
                mahalanobis(chosen[test], m, p),
                mahalanobis(rejected[test], m, p),
            )
        text_reference = f"out-of-fold distances of {2 * n} training texts ({folds} folds)"
    else:  # too few pairs to hold any out
        p = np.linalg.inv(covariance)
        d_chosen, d_rejected = mahalanobis(chosen, mean, p), mahalanobis(rejected, mean, p)
        text_reference = f"in-sample distances of {2 * n} training texts (too few to hold out)"
    threshold = float(np.quantile(np.maximum(d_chosen, d_rejected), quantile))
    spread_threshold = None
    if spread is not None and np.asarray(spread).size:
        spread_threshold = float(np.quantile(np.asarray(spread)[rows], quantile))
    return FeatureStatistics(
        mean,
        covariance,
        shrinkage,
        threshold,
        spread_threshold,
        quantile,
        int(n),
        reference,
        text_distances=np.concatenate([d_chosen, d_rejected]),
        text_reference=text_reference,
    )


def stored_statistics(scorer) -> FeatureStatistics | None:
    """The statistics saved with a model (``scorer``: a
    :class:`~rewardkit.model.scorer.Scorer`): its primary folder's ``feature_stats``, with a
    members ensemble's spread threshold and held-out fractions from its manifest; None for a
    model saved without them (foreign models, ``--no-proxy-eval``)."""
    stats = FeatureStatistics.load(scorer.primary_dir) if scorer.primary_dir else None
    if stats is not None and scorer.kind == "members":
        stats.spread_threshold = scorer.manifest.get("spread_threshold")
        if scorer.manifest.get("heldout"):
            stats.heldout = scorer.manifest["heldout"]
    return stats


def ood_flags(
    n: int,
    distance: np.ndarray | None,
    spread: np.ndarray | None,
    stats: FeatureStatistics | None,
    spread_threshold: float | None,
) -> dict:
    """Boolean flags ``{"distance", "spread", "any"}`` of ``n`` pairs (a missing measure
    flags nothing)."""
    by_distance = (
        (distance > stats.distance_threshold)
        if (distance is not None and stats)
        else np.zeros(n, dtype=bool)
    )
    by_spread = (
        (spread > spread_threshold)
        if (spread is not None and spread_threshold is not None)
        else np.zeros(n, dtype=bool)
    )
    return {"distance": by_distance, "spread": by_spread, "any": by_distance | by_spread}


def ood_section(
    correct: np.ndarray,
    distance: np.ndarray | None,
    spread: np.ndarray | None,
    stats: FeatureStatistics | None,
    spread_threshold: float | None,
    tie: np.ndarray | None = None,
) -> dict:
    """Fractions flagged (by distance, by spread, by either) over all pairs, accuracy of
    flagged vs unflagged pairs over the non-tie ones (``tie`` marks the ties), and the
    accuracy–coverage curve of abstaining on the most distant pairs first."""
    correct = np.asarray(correct, dtype=bool)
    judged = ~np.asarray(tie, dtype=bool) if tie is not None else np.ones(correct.size, bool)
    flags = ood_flags(correct.size, distance, spread, stats, spread_threshold)

    def accuracy(mask):
        mask = mask & judged
        return float(correct[mask].mean()) if mask.any() else None

    out = {
        "n": int(correct.size),
        "rule": "flagged when the pair's Mahalanobis distance or ensemble spread exceeds "
        f"the {int(100 * (stats.quantile if stats else QUANTILE))}th percentile "
        "on the training pairs",
        "distance_available": stats is not None and distance is not None,
        "spread_available": spread is not None and spread_threshold is not None,
    }
    for name, mask in flags.items():
        out[f"fraction_flagged_{name}" if name != "any" else "fraction_flagged"] = (
            float(mask.mean()) if correct.size else None
        )
    out["accuracy_flagged"] = accuracy(flags["any"])
    out["accuracy_unflagged"] = accuracy(~flags["any"])
    out["n_flagged"] = int(flags["any"].sum())
    out["in_distribution_fraction_flagged"] = None
    out["in_distribution_source"] = None
    if stats is not None:
        out["distance_threshold"] = stats.distance_threshold
        out["reference"] = stats.reference
        out["in_distribution_fraction_flagged"] = stats.heldout.get("fraction_flagged")
        out["in_distribution_source"] = stats.heldout.get("source")
        if distance is not None and distance.size:
            out["distance_median"] = float(np.median(distance))
    if spread_threshold is not None:
        out["spread_threshold"] = float(spread_threshold)
    if distance is not None and judged.any():
        # what abstaining buys: drop the most distant pairs first (Geifman & El-Yaniv 2017)
        out["abstain_by_distance"] = accuracy_coverage(distance[judged], correct[judged])
        out["abstain_by_distance"]["coverage_without_flagged"] = float(
            (~flags["any"][judged]).mean()
        )
    ref = out.get("in_distribution_fraction_flagged")
    if ref and out["fraction_flagged"] is not None:
        out["ratio_to_in_distribution"] = out["fraction_flagged"] / ref
    return out
