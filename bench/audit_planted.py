"""``rewardkit audit`` on planted label noise: does it find the flips it is meant to find?

Build a demo world whose training labels are flipped at a known rate (``--flip-rate``,
recorded in ``gold.jsonl``), audit the training split, and report:

* precision and recall of the ``K`` most suspect pairs on the planted flips, with ``K`` the
  planted count (so precision = recall at K), and of the ``likely-flipped`` set;
* the estimated flip share (confident learning) and its interval against the planted share;
* the gold accuracy on the world's untouched eval split of frozen-feature models trained on the
  raw (noisy), dropped, flipped and soft-labelled copies (``--fix … --top K``), and on the
  clean world (no flips) as the reference.

Figures only, no timings: it may run while other jobs run. Usage:
``python bench/audit_planted.py [--n-train 1000 --flip-rate 0.2 --out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from common import machine, pct, today
from rewardkit.audit.config import AuditConfig
from rewardkit.audit.run import run_audit
from rewardkit.model.loading import load_reward_model
from rewardkit.train import TrainConfig, train
from rewardkit.world import (
    WorldConfig,
    accuracy_against_gold,
    build_world,
    load_world_split,
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
    parser.add_argument("--out", default=None)
    return parser.parse_args()


def audit(args, data: Path, out: Path, fix: str = "none", top: int = 0) -> dict:
    return run_audit(
        AuditConfig(
            data=str(data),
            out=str(out),
            backbone=args.backbone,
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


def main() -> None:
    args = parse_args()
    work = Path(args.out or tempfile.mkdtemp(prefix="rk-audit-planted-"))
    sizes = {"n_train_pairs": args.n_train, "n_eval_pairs": args.n_eval, "seed": args.seed}
    noisy = build_world(WorldConfig(**sizes, label_flip_rate=args.flip_rate))
    paths = write_world(noisy, work / "world")
    clean_paths = write_world(build_world(WorldConfig(**sizes)), work / "clean-world")
    truth = {p.id for p in noisy.train if p.extra[FLIP_FIELD]}
    summary = audit(args, paths["train"], work / "audit")
    ranked = [json.loads(line) for line in (work / "audit" / "pairs.jsonl").open()]
    found = detection(ranked, truth)
    estimates = summary["flip_estimates"]
    models = {"raw (noisy)": paths["train"], "clean world (reference)": clean_paths["train"]}
    for fix in FIXES:
        audit(args, paths["train"], work / f"audit-{fix}", fix=fix, top=len(truth))
        models[f"{fix} top {len(truth)}"] = work / f"train.{fix}.jsonl"
    gold = {
        name: gold_accuracy(args, data, paths["eval"], work / "world", work / f"model-{i}")
        for i, (name, data) in enumerate(models.items())
    }
    result = {
        "machine": machine(),
        "date": today(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "settings": vars(args),
        "detection": found,
        "planted_share": len(truth) / len(noisy.train),
        "estimates": estimates,
        "gold_accuracy": gold,
    }
    (work / "audit_planted.json").write_text(json.dumps(result, indent=2))
    print(f"{result['date']} · {result['machine']} · commit {result['commit']}")
    print(f"world: {len(noisy.train)} train pairs, {len(truth)} labels flipped on purpose")
    print(
        f"top {len(truth)} suspects: precision = recall = {pct(found['precision_at_planted'])}; "
        f"likely-flipped: {found['likely_flipped']} pairs, precision "
        f"{pct(found['likely_flipped_precision'])}, recall {pct(found['likely_flipped_recall'])}"
    )
    low, high = estimates["estimated_flip_share_ci95"]
    print(
        f"estimated flip share {pct(estimates['estimated_flip_share'])} (95% CI {pct(low)}–"
        f"{pct(high)}) against {pct(result['planted_share'])} planted; negative-margin share "
        f"{pct(estimates['share_negative'])}"
    )
    for name, value in gold.items():
        print(f"gold accuracy on the eval split, trained on {name}: {pct(value)}")
    print(f"details: {work / 'audit_planted.json'}")


if __name__ == "__main__":
    main()
