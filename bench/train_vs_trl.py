"""Training speed and accuracy: rewardkit against TRL's RewardTrainer, same run, same machine.

Same backbone (all-MiniLM-L6-v2), same data (hh-rlhf harmless, canonical train split), same
hyper-parameters (batch 16, lr 1e-4, 1 epoch, max_length 512, no gradient checkpointing), in
fp32 and in bf16 (TRL: bf16 autocast through accelerate; rewardkit: its --precision bf16).
Both models are evaluated by the same scorer on the canonical eval split: all 438 pairs
(rewardkit truncates the prompt of the 14 over-long ones) and the 424 that both keep.

    python bench/train_vs_trl.py                      # full run (~40 min on 2 cores)
    python bench/train_vs_trl.py --seeds 3            # mean over seeds
    python bench/train_vs_trl.py --tiny               # smoke test: tiny model, a few steps

Needs the bench extra: pip install -e ".[bench]" (trl==1.16.0, installed after torch).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    encoder_train_flops_per_token,
    machine,
    matmul_peak,
    pct,
    today,
    training_workspace,
)
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.eval.proxy import core_metrics  # noqa: E402
from rewardkit.model.backbone import resolve_backbone  # noqa: E402
from rewardkit.model.loading import load_reward_model  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from trl_run import TrlRun, run_trl, trl_records  # noqa: E402

HH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "hh-rlhf-harmless-base"
    / "test.jsonl.gz"
)


def run_rewardkit(data_path: str, args, precision: str, seed: int, out: Path) -> dict:
    result = train(
        TrainConfig(
            data=data_path,
            out=str(out),
            backbone=args.backbone,
            epochs=1,
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            lr=args.lr,
            max_length=args.max_length,
            precision=precision,
            seed=seed,
            pair_forward=args.pair_forward,
        ),
        quiet=True,
        progress=False,
    )
    training = result.metrics["training"]
    seconds = training["loop_seconds"]
    return {
        "pairs_trained": training["pairs_seen"],
        "seconds": seconds,
        "pairs_per_s": training["pairs_seen"] / seconds,
        "tokens": training["tokens_seen"],
        "tokens_per_s": training["tokens_seen"] / seconds,
    }


def evaluate(
    model_dir: Path, eval_pairs, max_length: int, suffix: str = "", *, per_pair: bool = False
) -> dict:
    """Score with the same scorer (fp32); ``suffix`` reproduces TRL's appended EOS text.
    ``per_pair`` adds ``correct``, aligned with ``eval_pairs``: ranked correctly (r_chosen >
    r_rejected), or None for a tie or a dropped pair (the paired bootstrap's input)."""
    scorer = load_reward_model(model_dir, max_length=max_length, precision="fp32")
    scored_pairs = eval_pairs
    if suffix:
        scored_pairs = [
            dataclasses.replace(p, chosen=p.chosen + suffix, rejected=p.rejected + suffix)
            for p in eval_pairs
        ]
    scored = scorer.score_pairs(scored_pairs)
    metrics = core_metrics(scored, len(eval_pairs), scorer.max_length, scorer.calibration)
    result = {
        "accuracy_all": metrics["accuracy"],
        "n_all": metrics["n"],
        "accuracy_both_keep": metrics["fits_max_length"]["accuracy"],
        "n_both_keep": metrics["fits_max_length"]["n"],
    }
    if per_pair:
        correct = [None] * len(eval_pairs)
        for encoded, margin in zip(scored.encoded, scored.r_chosen - scored.r_rejected):
            if not eval_pairs[encoded.index].tie:
                correct[encoded.index] = bool(margin > 0)
        result["correct"] = correct
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--pair-forward", default="auto")
    parser.add_argument("--data", default=str(HH))
    parser.add_argument("--backbone", default=None, help="default: all-MiniLM-L6-v2")
    parser.add_argument("--tiny", action="store_true", help="smoke test: tiny random BERT, 3 steps")
    parser.add_argument("--out", default=None, help="folder for models and results.json")
    args = parser.parse_args()
    quiet_libraries()
    work = training_workspace(args, "rk-bench-trl")
    if args.tiny:
        args.max_steps = args.max_steps or 3
    backbone = resolve_backbone(args.backbone)
    pairs, _ = read_pairs(args.data)
    train_pairs, eval_pairs = split_by_prompt(pairs, 0.2)
    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(
        f"machine: {machine()}\ndate: {today()}\nmatmul peak: fp32 {peaks['fp32']:.0f} "
        f"GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s\ndata: {args.data} "
        f"({len(train_pairs)} train / {len(eval_pairs)} eval pairs)",
        flush=True,
    )
    from transformers import AutoConfig

    backbone_config = AutoConfig.from_pretrained(backbone)
    trl_rows, append_eos = trl_records(backbone, train_pairs, args.max_length)
    results = {"machine": machine(), "date": today(), "peaks_gflops": peaks, "runs": []}
    for precision in args.precisions.split(","):
        for seed in range(args.seeds):
            row = {"precision": precision, "seed": seed}
            for tool in ("trl", "rewardkit"):
                out = work / f"{tool}-{precision}-s{seed}"
                if tool == "trl":
                    settings = dict(batch_size=args.batch_size, lr=args.lr, seed=seed, out=out)
                    run = TrlRun(
                        backbone,
                        max_length=args.max_length,
                        precision=precision,
                        max_steps=args.max_steps or None,
                        **settings,
                    )
                    timing = run_trl(run, trl_rows, append_eos)
                else:
                    timing = run_rewardkit(args.data, args, precision, seed, out)
                suffix = timing.pop("eos_suffix", "")
                timing.update(evaluate(out, eval_pairs, args.max_length, suffix))
                row[tool] = timing
                print(
                    f"{precision} seed {seed} {tool:9s}: {timing['pairs_per_s']:.2f} pairs/s "
                    f"({timing['pairs_trained']} pairs in {timing['seconds']:.0f} s); eval "
                    f"{pct(timing['accuracy_all'])} on {timing['n_all']}, "
                    f"{pct(timing['accuracy_both_keep'])} on {timing['n_both_keep']}",
                    flush=True,
                )
            rk = row["rewardkit"]
            for tool in ("trl", "rewardkit"):  # model FLOPs of the real tokens, as MFU counts
                run = row[tool]
                if not run.get("tokens_per_s"):
                    continue
                mean_len = run["tokens"] / max(2 * run["pairs_trained"], 1)
                flops = (
                    encoder_train_flops_per_token(backbone_config, mean_len) * run["tokens_per_s"]
                )
                run["achieved_gflops"] = flops / 1e9
                run["fraction_of_peak"] = flops / 1e9 / peaks[precision]
                print(
                    f"    {tool:9s} {run['tokens_per_s']:.0f} real tokens/s ≈ {flops / 1e9:.0f} "
                    f"model GFLOP/s = {100 * run['fraction_of_peak']:.0f}% of the measured "
                    f"{precision} peak"
                )
            row["ratio"] = rk["pairs_per_s"] / row["trl"]["pairs_per_s"]
            results["runs"].append(row)
    print("\nsummary (mean over seeds)")
    summary = {}
    for precision in args.precisions.split(","):
        rows = [r for r in results["runs"] if r["precision"] == precision]
        mean = lambda tool, key: statistics.mean(r[tool][key] for r in rows)  # noqa: E731
        summary[precision] = {
            "ratio": statistics.mean(r["ratio"] for r in rows),
            "rewardkit_pairs_per_s": mean("rewardkit", "pairs_per_s"),
            "trl_pairs_per_s": mean("trl", "pairs_per_s"),
            "rewardkit_accuracy_all": mean("rewardkit", "accuracy_all"),
            "trl_accuracy_all": mean("trl", "accuracy_all"),
            "rewardkit_accuracy_both_keep": mean("rewardkit", "accuracy_both_keep"),
            "trl_accuracy_both_keep": mean("trl", "accuracy_both_keep"),
        }
        s = summary[precision]
        n = rows[0]["trl"]["n_both_keep"]
        noise = (0.25 / max(n, 1)) ** 0.5  # one standard error of an accuracy near 50%
        print(
            f"{precision}: rewardkit {s['rewardkit_pairs_per_s']:.2f} pairs/s vs TRL "
            f"{s['trl_pairs_per_s']:.2f} → ratio {s['ratio']:.2f}×; accuracy on the {n} pairs "
            f"both keep: rewardkit {pct(s['rewardkit_accuracy_both_keep'])}, TRL "
            f"{pct(s['trl_accuracy_both_keep'])} (one standard error ≈ {100 * noise:.1f} "
            f"points); on all: rewardkit {pct(s['rewardkit_accuracy_all'])}, TRL "
            f"{pct(s['trl_accuracy_all'])}"
        )
    results["summary"] = summary
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
