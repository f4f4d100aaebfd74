"""``rewardkit audit`` on planted label noise: does it find the flips it is meant to find?

Build a demo world whose training labels are flipped at a known rate (``--flip-rate``,
recorded in ``gold.jsonl``), audit the training split, and report:

* precision and recall of the ``K`` most suspect pairs on the planted flips, with ``K`` the
  planted count (so precision = recall at K), and of the ``likely-flipped`` set;
* the estimated flip share and its interval against both truths: the planted share, and the
  share of training labels that disagree with the world's gold reward (the planted flips plus
  the simulated annotators' own mistakes; an audit cannot tell those apart);
* the gold accuracy on the world's untouched eval split of frozen-feature models trained on the
  raw (noisy), dropped, flipped and soft-labelled copies (``--fix … --top K``), and on the
  clean world (no flips) as the reference.

``--mode finetune`` audits with a full fine-tune per fold (slow on a CPU); ``--skip-fixes``
skips the three fix audits and their gold models (a quick check of the estimators);
``--reuse-audit`` re-reads ``OUT/audit/pairs.jsonl`` of an earlier run with the same settings
and recomputes only the estimates (no model is fitted).

Figures only, no timings: it may run while other jobs run. Usage:
``python bench/audit_planted.py [--n-train 1000 --flip-rate 0.2 --mode frozen --out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from common import commit, machine, pct, today
from rewardkit.audit import estimate
from rewardkit.audit.config import AuditConfig
from rewardkit.audit.run import run_audit
from rewardkit.data import data_fingerprint, read_pairs
from rewardkit.model.loading import load_reward_model
from rewardkit.train import TrainConfig, train
from rewardkit.world import (
    WorldConfig,
    accuracy_against_gold,
    build_world,
    load_world_split,
    noise_ceiling,
    write_world,
)
from rewardkit.world.label_noise import FLIP_FIELD

FIXES = ("drop", "flip", "soft")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-eval", type=int, default=300)
    parser.add_argument("--flip-rate", type=float, default=0.2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--mode", choices=("frozen", "finetune"), default="frozen")
    parser.add_argument(
        "--skip-fixes", action="store_true", help="no fix audits and no gold models"
    )
    parser.add_argument(
        "--reuse-audit",
        action="store_true",
        help="recompute the estimates from OUT/audit/pairs.jsonl of an earlier run",
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.reuse_audit and not args.out:
        parser.error("--reuse-audit needs --out DIR of an earlier run")
    return args


def audit(args, data: Path, out: Path, fix: str = "none", top: int = 0) -> dict:
    return run_audit(
        AuditConfig(
            data=str(data),
            out=str(out),
            backbone=args.backbone,
            mode=args.mode,
            max_length=args.max_length,
            folds=args.folds,
            ensemble=args.ensemble,
            seed=args.seed,
            fix=fix,
            top=top,
            out_data=str(out.parent / f"train.{fix}.jsonl") if fix != "none" else None,
            progress=False,
        )
    )


def detection(ranked: list[dict], truth: set[str]) -> dict:
    k = len(truth)
    top = {row["id"] for row in ranked[:k]}
    flagged = {row["id"] for row in ranked if "likely-flipped" in row["reasons"]}
    hit = len(flagged & truth)
    return {
        "planted": k,
        "precision_at_planted": len(top & truth) / k if k else None,
        "recall_at_planted": len(top & truth) / k if k else None,
        "likely_flipped": len(flagged),
        "likely_flipped_precision": hit / len(flagged) if flagged else None,
        "likely_flipped_recall": hit / k if k else None,
    }


def gold_accuracy(args, data: Path, eval_path: Path, world_dir: Path, out: Path) -> float:
    train(
        TrainConfig(
            data=str(data),
            eval_data=str(eval_path),
            out=str(out),
            backbone=args.backbone,
            freeze_backbone=True,
            max_length=args.max_length,
            seed=args.seed,
        ),
        quiet=True,
    )
    held_out = load_world_split(world_dir, "eval")
    scored = load_reward_model(out).score_pairs(held_out)
    return accuracy_against_gold(held_out, scored.r_chosen, scored.r_rejected)


def audited(args, data: Path, out: Path) -> dict:
    """The audit's flip estimates: from a fresh audit, or (``--reuse-audit``) recomputed from
    an earlier audit's ``pairs.jsonl`` whose settings match."""
    if not args.reuse_audit:
        return audit(args, data, out)["flip_estimates"]
    earlier = json.loads((out / "audit.json").read_text())
    for key in ("mode", "folds", "ensemble", "seed"):
        if earlier[key] != getattr(args, key):
            raise SystemExit(
                f"{out}/audit.json has {key} {earlier[key]!r}, not {getattr(args, key)!r}"
            )
    if earlier["data_fingerprint"] != data_fingerprint(read_pairs(str(data))[0]):
        raise SystemExit(
            f"{out}/audit.json audited other pairs than {data}: rerun without --reuse-audit"
        )
    rows = [json.loads(line) for line in (out / "pairs.jsonl").open()]
    p_right = np.array([row["p_label_right"] for row in rows])
    confident = np.array(["likely-flipped" in row["reasons"] for row in rows])
    return estimate.flip_estimates(p_right, confident, seed=args.seed)


def fixed_models(args, paths: dict, clean_train: Path, truth: set[str], work: Path) -> dict:
    """Gold accuracy of frozen-feature models on the raw, fixed and clean training data."""
    models = {"raw (noisy)": paths["train"], "clean world (reference)": clean_train}
    for fix in FIXES:
        audit(args, paths["train"], work / f"audit-{fix}", fix=fix, top=len(truth))
        models[f"{fix} top {len(truth)}"] = work / f"train.{fix}.jsonl"
    return {
        name: gold_accuracy(args, data, paths["eval"], work / "world", work / f"model-{i}")
        for i, (name, data) in enumerate(models.items())
    }


def shares_with_intervals(estimates: dict) -> list[str]:
    """The estimate keys that carry a 95% interval, in the order the audit wrote them."""
    return [key for key in estimates if estimates.get(f"{key}_ci95")]


def main() -> None:
    args = parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="rk-audit-planted-"))
    sizes = {"n_train_pairs": args.n_train, "n_eval_pairs": args.n_eval, "seed": args.seed}
    noisy = build_world(WorldConfig(**sizes, label_flip_rate=args.flip_rate))
    paths = write_world(noisy, work / "world")
    truth = {p.id for p in noisy.train if p.extra[FLIP_FIELD]}
    truths = {
        "planted": len(truth) / len(noisy.train),
        "disagree_with_gold": 1.0 - noise_ceiling(noisy.train),
    }
    estimates = audited(args, paths["train"], work / "audit")
    ranked = [json.loads(line) for line in (work / "audit" / "pairs.jsonl").open()]
    found = detection(ranked, truth)
    gold = {}
    if not args.skip_fixes:
        clean_paths = write_world(build_world(WorldConfig(**sizes)), work / "clean-world")
        gold = fixed_models(args, paths, clean_paths["train"], truth, work)
    result = {
        "machine": machine(),
        "date": today(),
        "commit": commit(),
        "settings": vars(args),
        "detection": found,
        "planted_share": truths["planted"],
        "disagree_with_gold_share": truths["disagree_with_gold"],
        "estimates": estimates,
        "covers": {
            key: {
                name: bool(estimates[f"{key}_ci95"][0] <= value <= estimates[f"{key}_ci95"][1])
                for name, value in truths.items()
            }
            for key in shares_with_intervals(estimates)
        },
        "gold_accuracy": gold,
    }
    (work / "audit_planted.json").write_text(json.dumps(result, indent=2))
    print(f"{result['date']} · {result['machine']} · commit {result['commit']} · {args.mode}")
    print(
        f"world: {len(noisy.train)} train pairs, {len(truth)} labels flipped on purpose "
        f"({pct(truths['planted'])}); {pct(truths['disagree_with_gold'])} of the labels disagree "
        "with the gold reward (planted flips plus the annotators' own mistakes)"
    )
    print(
        f"top {len(truth)} suspects: precision = recall = {pct(found['precision_at_planted'])}; "
        f"likely-flipped: {found['likely_flipped']} pairs, precision "
        f"{pct(found['likely_flipped_precision'])}, recall {pct(found['likely_flipped_recall'])}"
    )
    for key in shares_with_intervals(estimates):
        low, high = estimates[f"{key}_ci95"]
        covers = result["covers"][key]
        print(
            f"{key}: {pct(estimates[key])} (95% CI {pct(low)}–{pct(high)}); covers planted: "
            f"{covers['planted']}, covers disagree-with-gold: {covers['disagree_with_gold']}"
        )
    if estimates.get("why_not"):
        print(f"estimated_flip_share: not estimated: {estimates['why_not']}")
    for name, value in gold.items():
        print(f"gold accuracy on the eval split, trained on {name}: {pct(value)}")
    print(f"details: {work / 'audit_planted.json'}")


if __name__ == "__main__":
    main()
