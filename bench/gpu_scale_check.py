"""GPU figure at a real size: rewardkit against TRL's RewardTrainer on one CUDA GPU, with a
decoder of Qwen2.5-0.5B's shape (24 layers, hidden 896, GQA 14/2 heads, ~0.5B parameters with
a 151,936-token vocabulary; random weights: there is no hub, and throughput does not depend
on the weights' values), bf16, the same pairs, batch and pairs per step.

Stages, each in a fresh process (kernel caches warmed by one run must not speed up the next):

* ``trl``, ``rewardkit``: ``--warmup-steps`` untimed steps, then ``--steps`` timed steps in the
  same process (both tools alike: one-time work such as compiling flex_attention's kernels or
  building cuDNN plans is not counted; ``--warmup-steps 0`` times from a cold start); pairs/s,
  tokens/s (real tokens), MFU (model FLOPs over the bf16 matmul peak measured in the same run),
  peak GPU memory of the timed run.
* ``trl-loss``, ``rewardkit-loss``: 20 steps on one batch (the data is exactly one batch, so
  every step sees it and the batch order is the same for both tools), constant learning
  rate: the per-step losses must agree within 1e-2.
* ``fsdp``, ``zero3``: ``accelerate launch`` (1 process) with examples/accelerate/fsdp.yaml and
  zero3.yaml, a few steps, then the saved folder must load in plain transformers and score as
  rewardkit's own load of it (the save-with-gather path; ZeRO-3 needs deepspeed, whose wheel
  bench/gpu_carry.sh builds for the device tool; ZeRO-3 on the CPU is tested in CI).

rewardkit runs its best mode for a decoder: ``--pair-forward packed`` (padding-free, each
batch's texts end to end in one row) with ``--attention flex_attention`` on a GPU, whose block
mask skips what the packed texts do not see (sdpa would compute the row's whole dense mask).
``--pair-forward concatenated|prefix-sharing|auto`` and ``--attention sdpa|eager|auto`` measure
the others. Should flex_attention fail to compile on the machine, the stage is run again with
sdpa and says so.

    python bench/gpu_scale_check.py --data hh.jsonl.gz --tokenizer DIR [--steps 100]
    python bench/gpu_scale_check.py --tiny      # CPU smoke test: tiny Qwen2, world data
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today  # noqa: E402
from gpu_train_check import (  # noqa: E402
    bf16_peak,
    decoder_shape,
    flops_per_token,
    gpu_trl_run,
    pairs_both_keep,
)
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.data.writers import pairs_to_jsonl  # noqa: E402
from rewardkit.model.tiny import TINY_LLAMA  # noqa: E402
from tiny import tiny_world_file  # noqa: E402

THROUGHPUT, LOSS = ("trl", "rewardkit"), ("trl-loss", "rewardkit-loss")


def qwen_backbone(folder: Path, tokenizer_dir: str | None, tiny: bool):
    """A random Qwen2 reward backbone of the chosen shape, saved with its tokenizer."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForSequenceClassification

    from rewardkit.model.backbone import resolve_backbone

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir or resolve_backbone(None))
    if tokenizer.eos_token is None:
        tokenizer.eos_token = tokenizer.sep_token or "</s>"
    config = Qwen2Config(
        vocab_size=len(tokenizer) if tiny else max(len(tokenizer), 151936),
        max_position_embeddings=4096,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
        **(TINY_LLAMA if tiny else decoder_shape("Qwen2.5-0.5B")),
    )
    if not (folder / "config.json").is_file():
        torch.manual_seed(0)
        Qwen2ForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
    return str(folder), config


def rewardkit_run(args, backbone: str, data: str, out: Path, **options) -> dict:
    from rewardkit.train import TrainConfig, train

    config = dict(data=data, out=str(out), backbone=backbone, batch_size=args.batch_size)
    config.update(lr=1e-5, max_length=512, precision="bf16", token_cache=str(out.parent / "c"))
    config.update(pair_forward=args.pair_forward, attention=args.attention)
    config.update(options)
    result = train(TrainConfig(**config), quiet=True, progress=False)
    t = result.metrics["training"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return {
        "seconds": t["loop_seconds"],
        "tokens": t["tokens_seen"],
        "steps": t["steps"],
        "losses": [json.loads(line)["train_loss"] for line in lines],
    }


def run_stage(name: str, args, backbone: str, pairs, held_out, work: Path) -> dict:
    """One stage, in this (fresh) process."""
    one_batch = pairs[: args.batch_size]
    if name in THROUGHPUT and args.warmup_steps:  # untimed; the same work as the timed run
        throughput_run(name, args, backbone, pairs, work / "warmup", args.warmup_steps, True)
        gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    if name in THROUGHPUT:
        row = throughput_run(name, args, backbone, pairs, work, args.steps)
    elif name == "trl-loss":
        row = gpu_trl_run(backbone, one_batch, 20, args.batch_size, constant_lr=True)
    else:  # rewardkit-loss: the same single batch, every step logged
        data, held = str(work / "one_batch.jsonl"), str(work / "held_out.jsonl")
        pairs_to_jsonl(data, one_batch)
        pairs_to_jsonl(held, held_out[: args.batch_size])  # eval data: other prompts
        row = rewardkit_run(
            args,
            backbone,
            data,
            work / "rk-loss",
            eval_data=held,
            epochs=20,
            max_steps=20,
            eval_every=1,
            schedule="constant",
            warmup_ratio=0.0,
            use_margin=False,
        )
    row["peak_memory_gb"] = (
        torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    )
    if name.startswith("rewardkit"):
        row.update(pair_forward=args.pair_forward, attention=args.attention)
    return row


def throughput_run(
    name: str, args, backbone: str, pairs, work: Path, steps: int, warmup: bool = False
) -> dict:
    if name == "trl":
        return gpu_trl_run(backbone, pairs, steps, args.batch_size)
    data, held = work / "train_both_keep.jsonl", work / "held_out_all.jsonl"
    pairs_to_jsonl(data, pairs)  # the very pairs TRL gets
    pairs_to_jsonl(held, args.held_out)
    options = dict(epochs=1000, max_steps=steps, proxy_eval=not warmup, eval_data=str(held))
    return rewardkit_run(args, backbone, str(data), work / "rk", **options)


def gather_check(engine: str, backbone: str, args, work: Path) -> str:
    """``accelerate launch`` one process with an example config; the saved folder must load
    in plain transformers and score as rewardkit's own load. ZeRO-3 runs on a CPU too (the
    ``--tiny`` smoke run); FSDP needs the GPU."""
    if not torch.cuda.is_available() and engine == "fsdp":
        return "skipped (accelerate runs FSDP on GPUs only)"
    if engine == "zero3" and importlib.util.find_spec("deepspeed") is None:
        return "skipped (deepspeed is not installed)"
    out = work / f"{engine}-out"
    config = Path(__file__).resolve().parents[1] / "examples" / "accelerate" / f"{engine}.yaml"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    launch += ["--num_processes", "1", "-m", "rewardkit", "train", "--data", args.data]
    launch += ["--backbone", backbone, "--out", str(out), "--max-steps", "5", "--epochs", "1"]
    launch += ["--precision", "bf16", "--gradient-checkpointing", "--batch-size", "4"]
    launch += ["--pair-forward", args.pair_forward]  # packed: through the engine's wrapper
    done = subprocess.run(launch, env=os.environ)
    if done.returncode:
        return f"failed (exit {done.returncode}; its output is above)"
    from transformers import AutoModelForSequenceClassification

    from rewardkit.model.loading import load_reward_model

    plain = AutoModelForSequenceClassification.from_pretrained(out).eval()
    scorer = load_reward_model(str(out))
    ids = scorer.encoder.fit_texts([("Hello?", "Hi there.")], "truncate")[0].ids
    with torch.no_grad():
        theirs = float(plain(input_ids=torch.tensor([ids])).logits[0, 0])
    ours = float(scorer.score_ids([ids]).rewards[0])
    return f"saved a normal HF folder; plain transformers {theirs:.5f} vs rewardkit {ours:.5f}"


def best_attention(args, device: torch.device) -> str:
    """``--attention`` when given; else flex_attention for packed batches on a GPU (its block
    mask skips what packed texts do not see), otherwise the model's default."""
    if args.attention:
        return args.attention
    return "flex_attention" if args.pair_forward == "packed" and device.type == "cuda" else "auto"


def run_child(name: str, args, work: Path) -> dict:
    """Stage ``name`` in a fresh process; a rewardkit stage whose flex_attention fails (it is
    compiled on first use) runs again with sdpa, as do the rewardkit stages after it, and
    says so."""
    child = [sys.executable, __file__, "--only", name, "--data", args.data, "--out", str(work)]
    child += ["--steps", str(args.steps), "--batch-size", str(args.batch_size)]
    child += ["--warmup-steps", str(args.warmup_steps), "--pair-forward", args.pair_forward]
    child += (["--tokenizer", args.tokenizer] if args.tokenizer else []) + (
        ["--tiny"] if args.tiny else []
    )
    done = subprocess.run([*child, "--attention", args.attention])
    if done.returncode and name.startswith("rewardkit") and args.attention == "flex_attention":
        print(f"{name}: flex_attention failed (exit {done.returncode}); again: sdpa", flush=True)
        args.attention = "sdpa"  # for the stages after it too
        done = subprocess.run([*child, "--attention", args.attention])
    done.check_returncode()
    return json.loads((work / f"{name}.json").read_text())


def report(results: dict, config, peak: float, batch_size: int) -> None:
    base_pairs = results["trl"]["steps"] * batch_size / results["trl"]["seconds"]
    for name in THROUGHPUT:
        row = results[name]
        pairs_s = row["steps"] * batch_size / row["seconds"]
        tokens_s = row["tokens"] / row["seconds"]
        mean_len = row["tokens"] / max(2 * row["steps"] * batch_size, 1)
        mfu = tokens_s * flops_per_token(config, mean_len) / peak
        memory = row["peak_memory_gb"]
        row.update(pairs_per_s=pairs_s, tokens_per_s=tokens_s, mfu=mfu)
        mode = f" ({row['pair_forward']}, {row['attention']})" if "attention" in row else ""
        print(
            f"{name + mode:10s} {pairs_s:8.1f} pairs/s, {tokens_s:,.0f} tokens/s, "
            f"MFU {100 * mfu:.1f}%, "
            f"peak memory {'-' if memory is None else f'{memory:.1f} GB'}: "
            f"{pairs_s / base_pairs:.2f}× TRL's pairs/s",
            flush=True,
        )
    theirs, ours = results["trl-loss"]["losses"], results["rewardkit-loss"]["losses"]
    gap = max(abs(a - b) for a, b in zip(theirs, ours))
    print(f"20-step losses: largest gap {gap:.2e} (within 1e-2: {gap <= 1e-2})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data")
    parser.add_argument("--tokenizer")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--warmup-steps", type=int, default=None, help="untimed steps first (default 10; 1 tiny)"
    )
    parser.add_argument(
        "--pair-forward",
        default="packed",
        choices=("packed", "prefix-sharing", "concatenated", "auto"),
        help="rewardkit's pair forward (default packed: padding-free)",
    )
    parser.add_argument(
        "--attention",
        default=None,
        choices=("flex_attention", "sdpa", "eager", "flash_attention_2", "auto"),
        help="rewardkit's attention kernel (default: flex_attention with packed on a GPU)",
    )
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--only", help=argparse.SUPPRESS)  # one stage (a child)
    args = parser.parse_args()
    quiet_libraries()
    work = Path(args.out or tempfile.mkdtemp(prefix="rk-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.warmup_steps is None:
        args.warmup_steps = 1 if args.tiny else 10
    if args.tiny:
        args.data = args.data or tiny_world_file(work / "world")
        args.steps, args.batch_size = min(args.steps, 3), min(args.batch_size, 4)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.attention = best_attention(args, device)
    pairs, _ = read_pairs(args.data)
    train_pairs, held_out = split_by_prompt(pairs, 0.2)
    train_pairs = [p for p in train_pairs if not p.tie]
    backbone, config = qwen_backbone(work / "backbone", args.tokenizer, args.tiny)
    train_pairs, args.held_out = pairs_both_keep(train_pairs, backbone), held_out
    if args.only:
        row = run_stage(args.only, args, backbone, train_pairs, held_out, work)
        (work / f"{args.only}.json").write_text(json.dumps(row))
        return
    peak = bf16_peak(device)
    from safetensors.torch import load_file

    params = sum(v.numel() for v in load_file(Path(backbone) / "model.safetensors").values())
    print(
        f"machine: {machine()}\ndate: {today()}\ndecoder: {params / 1e6:.0f}M parameters "
        f"(Qwen2 shape); bf16 matmul peak {peak / 1e12:.1f} TFLOP/s",
        flush=True,
    )
    print(
        f"rewardkit: --pair-forward {args.pair_forward}, --attention {args.attention}; "
        f"{args.warmup_steps} untimed warm-up step(s) per tool; {len(train_pairs)} training "
        "pairs that both tools keep whole (≤ 512 tokens a side)",
        flush=True,
    )
    results = {"machine": machine(), "date": today(), "params": params, "peak_flops": peak}
    results.update(pair_forward=args.pair_forward, attention=args.attention)
    for name in THROUGHPUT + LOSS:
        results[name] = run_child(name, args, work)
    report(results, config, peak, args.batch_size)
    for engine in ("fsdp", "zero3"):
        results[engine] = gather_check(engine, backbone, args, work)
        print(f"{engine} save-with-gather: {results[engine]}", flush=True)
    (work / "scale_results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
