"""GPU diagnosis, same run: where rewardkit's training steps and bf16 scoring spend their time.

1. Training (the gpu_train_check decoder, bf16, batch 16): rewardkit's loop with length-grouped
   batches, with random batches, and with/without padding to a multiple of 64, beside TRL's
   RewardTrainer for the same number of steps.
2. Scoring (a MiniLM-shaped reward model): fp32 and bf16 passes over the same texts, twice
   each (the second pass meets only shapes already seen), with and without padding to 64.
3. torch.profiler tables (top operators by self CPU and by self CUDA time) for a short
   rewardkit run, a short TRL run and a bf16 scoring pass on new shapes.

    python bench/gpu_profile.py --data hh.jsonl.gz --tokenizer DIR [--steps 80] [--tiny]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_train_check import decoder_backbone, gpu_trl_run  # noqa: E402
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from tiny import minilm_shaped_reward_model  # noqa: E402


def profiled(label: str, fn, rows: int = 15) -> None:
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
    table = prof.key_averages()
    print(f"\n=== profile: {label} (top by self CPU) ===")
    print(table.table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=48))
    if torch.cuda.is_available():
        print(f"=== profile: {label} (top by self CUDA) ===")
        print(table.table(sort_by="self_device_time_total", row_limit=8, max_name_column_width=48))


def train_seconds(args, backbone, work: Path, name: str, **overrides) -> float:
    options = dict(
        data=args.data,
        out=str(work / name),
        backbone=backbone,
        epochs=100,
        max_steps=args.steps,
        batch_size=16,
        lr=1e-5,
        max_length=512,
        precision="bf16",
        pair_forward="concatenated",
        token_cache=str(work / "cache"),
    )
    options.update(overrides)
    result = train(TrainConfig(**options), quiet=True, progress=False)
    return result.metrics["training"]["loop_seconds"]


def scoring_part(args, work: Path, summary: list) -> None:
    model_dir = minilm_shaped_reward_model(work / "minilm", args.tokenizer)
    pairs, _ = read_pairs(args.data)
    _, eval_pairs = split_by_prompt(pairs, 0.2)
    prompts = [p.prompt for p in eval_pairs for _ in range(2)]
    responses = [r for p in eval_pairs for r in (p.chosen, p.rejected)]
    device = "cuda" if torch.cuda.is_available() else "cpu"

    def timed(model, batch_size=32) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.score(prompts, responses, batch_size=batch_size)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - start

    real = RewardModel.pad_multiple
    for precision in ("fp32", "bf16"):
        for multiple in (1, 64):
            RewardModel.pad_multiple = property(lambda self, m=multiple: m)
            model = RewardModel.from_pretrained(model_dir, precision=precision, device=device)
            first, second = timed(model), timed(model)
            summary.append(
                f"scoring {precision} pad×{multiple}: {len(responses) / first:7.0f} "
                f"texts/s first pass, {len(responses) / second:7.0f} second"
            )
            print(summary[-1], flush=True)
    RewardModel.pad_multiple = property(lambda self: 1)
    model = RewardModel.from_pretrained(model_dir, precision="bf16", device=device)
    profiled(
        "bf16 scoring, new shapes (batch 24, no padding multiple)",
        lambda: timed(model, batch_size=24),
    )
    RewardModel.pad_multiple = real


def training_part(args, work: Path, summary: list) -> None:
    backbone, _ = decoder_backbone(work / "backbone", args.tokenizer, args.tiny)
    pairs, _ = read_pairs(args.data)
    train_pairs, _ = split_by_prompt(pairs, 0.2)
    trl = gpu_trl_run(backbone, train_pairs, args.steps, 16)
    summary.append(f"TRL {args.steps} steps: {trl['seconds']:.1f} s")
    print(summary[-1], flush=True)
    variants = {
        "grouped, pad×auto": {},
        "grouped, pad×1": {"pad_to_multiple": 1},
        "random batches, pad×1": {"group_by_length": False, "pad_to_multiple": 1},
        "random batches, pad×auto": {"group_by_length": False},
    }
    for i, (label, overrides) in enumerate(variants.items()):
        seconds = train_seconds(args, backbone, work, f"v{i}", **overrides)
        summary.append(f"rewardkit {label}: {seconds:.1f} s ({trl['seconds'] / seconds:.2f}× TRL)")
        print(summary[-1], flush=True)
    steps = min(args.steps, 20)
    profiled(
        f"rewardkit training, {steps} steps (grouped, pad×auto; includes setup)",
        lambda: train_seconds(
            args, backbone, work, "profiled", max_steps=steps, eval_fraction=0.01
        ),
    )
    profiled(
        f"TRL training, {steps} steps (includes setup)",
        lambda: gpu_trl_run(backbone, train_pairs, steps, 16),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--parts", default="scoring,training")
    args = parser.parse_args()
    quiet_libraries()
    work = Path(tempfile.mkdtemp(prefix="rk-gpu-profile-"))
    summary: list[str] = []
    parts = {"scoring": scoring_part, "training": training_part}
    for name in args.parts.split(","):
        try:
            parts[name](args, work, summary)
        except Exception:  # a diagnosis: report the failure and go on with the next part
            traceback.print_exc()
    print("\n=== summary ===\n" + "\n".join(summary))


if __name__ == "__main__":
    main()
