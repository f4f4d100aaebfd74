"""The flip-share estimators that were tried for ``rewardkit audit``, side by side on planted runs.

Reads the folders ``bench/audit_planted.py --out DIR`` wrote (``DIR/world`` with the truth,
``DIR/audit/pairs.jsonl`` with the out-of-fold margins; a ``--mode finetune`` run also has
``DIR/audit/folds/fold-k-held-out.jsonl``, which say which fold scored each pair) and prints, per
run, every candidate with a bootstrap interval over pairs and whether it covers each truth: the
planted share, and the share of labels that disagree with the world's gold reward. Only the
audit's two kept estimators live in :mod:`rewardkit.audit.estimate`; the others are here, as the
record of what was tried (BENCHMARKS.md, "Planted flips on the demo world"):

* confident learning as first shipped: the confidently-wrong count over all pairs, without
  Northcutt et al.'s (2021, eq. 3) calibration of the confident joint;
* method of moments: with a deterministic truth and the true noisy posterior η̃, the share of
  labels against the truth is E[min(η̃, 1 − η̃)]; here with η̃ the out-of-fold probabilities
  after temperature scaling (Guo et al. 2017), cross-fitted over the audit's folds (one
  temperature for all pairs when the folds are not on disk);
* the noise-floor fit: P(label right | Δ) = ε + (1 − 2ε)·σ(aΔ), the noisy posterior as an
  affine map of a clean logistic one (Menon, van Rooyen, Ong & Williamson 2015, "Learning from
  corrupted binary labels via class-probability estimation", ICML; Bootkrajang & Kabán 2012),
  fitted by maximum likelihood;
* anchor pairs at other shares than the audit's 20% (Scott 2015; Liu & Tao 2016).

No model is fitted on texts; it takes seconds to minutes. Usage:
``python bench/audit_estimator_candidates.py DIR [DIR ...] [--draws 200]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from common import pct
from rewardkit.audit import estimate
from rewardkit.bradley_terry import preference_probability
from rewardkit.eval.calibration import fit_temperature
from rewardkit.world import load_world_split, noise_ceiling
from rewardkit.world.label_noise import FLIP_FIELD

ANCHOR_SHARES = (0.05, 0.1, 0.2, 0.3)


def run_data(run: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Out-of-fold margins, the fold of each pair (zeros when unknown), and the two truths."""
    train = load_world_split(run / "world", "train")
    rows = [json.loads(line) for line in (run / "audit" / "pairs.jsonl").open()]
    fold_of = {}
    for held_out in sorted((run / "audit" / "folds").glob("fold-*-held-out.jsonl")):
        k = int(held_out.name.split("-")[1])
        fold_of.update({json.loads(line)["id"]: k for line in held_out.open()})
    margins = np.array([row["margin"] for row in rows])
    folds = np.array([fold_of.get(row["id"], 0) for row in rows])
    truths = {
        "planted": float(np.mean([p.extra[FLIP_FIELD] for p in train])),
        "disagree with gold": 1.0 - noise_ceiling(train),
    }
    return margins, folds, truths


def cross_fitted(margins: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """σ(Δ/T) with each fold's temperature fitted on the other folds (all pairs if one fold)."""
    scaled = np.empty_like(margins)
    for k in np.unique(folds):
        held_out = folds == k
        rest = ~held_out if (~held_out).any() else held_out
        scaled[held_out] = margins[held_out] / fit_temperature(margins[rest])
    return preference_probability(scaled)


def noise_floor(margins: np.ndarray) -> float:
    """The ε of the maximum-likelihood fit of ε + (1 − 2ε)·σ(aΔ) (module docstring)."""

    def nll(theta):
        p = theta[0] + (1 - 2 * theta[0]) * preference_probability(theta[1] * margins)
        return -np.mean(np.log(np.clip(p, 1e-12, 1.0)))

    starts = [(e, a) for e in (0.05, 0.2, 0.35) for a in (0.5, 2.0, 8.0)]
    fits = [
        minimize(nll, start, bounds=[(0.0, 0.4999), (1e-4, 1e3)], method="L-BFGS-B")
        for start in starts
    ]
    return float(min(fits, key=lambda fit: fit.fun).x[0])


def top_share(margins: np.ndarray, share: float) -> float:
    anchors = np.argsort(-np.abs(margins), kind="stable")[: int(share * len(margins))]
    return float(np.mean(margins[anchors] < 0))


def candidates() -> dict:
    """name → statistic of (margins, folds)."""
    out = {
        "share of negative margins": lambda m, f: float(np.mean(m < 0)),
        "confident learning, uncalibrated count (as first shipped)": lambda m, f: float(
            np.mean(1 - preference_probability(m) >= preference_probability(m).mean())
        ),
        "confident learning, calibrated joint (kept)": lambda m, f: estimate.confident_flip_share(
            preference_probability(m)
        ),
        "confident learning, calibrated joint, cross-fitted temperature": lambda m, f: (
            estimate.confident_flip_share(cross_fitted(m, f))
        ),
        "method of moments, cross-fitted temperature": lambda m, f: float(
            np.mean(np.minimum(cross_fitted(m, f), 1 - cross_fitted(m, f)))
        ),
        "noise-floor fit": lambda m, f: noise_floor(m),
    }
    for share in ANCHOR_SHARES:
        kept = " (kept)" if share == estimate.ANCHOR_SHARE else ""
        out[f"anchor pairs, top {share:.0%}{kept}"] = lambda m, f, s=share: top_share(m, s)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for run in args.runs:
        margins, folds, truths = run_data(run)
        rng = np.random.default_rng(args.seed)
        draws = [rng.integers(0, len(margins), len(margins)) for _ in range(args.draws)]
        truth_text = ", ".join(f"{name} {pct(value)}" for name, value in truths.items())
        print(f"\n{run}: {len(margins)} pairs; {truth_text}")
        print("| estimator | value (95% CI) | " + " | ".join(f"covers {t}" for t in truths) + " |")
        print("|---|---|" + "---|" * len(truths))
        for name, statistic in candidates().items():
            value = statistic(margins, folds)
            low, high = np.percentile([statistic(margins[d], folds[d]) for d in draws], [2.5, 97.5])
            covers = " | ".join("yes" if low <= t <= high else "no" for t in truths.values())
            print(f"| {name} | {pct(value)} ({pct(low)}–{pct(high)}) | {covers} |")


if __name__ == "__main__":
    main()
