"""GPU training check: rewardkit against TRL's RewardTrainer on one CUDA GPU, same run.

A decoder of SmolLM2-135M's shape (30 layers, hidden 576, GQA 9/3 heads; ≥100M parameters,
randomly initialised — throughput does not depend on the weights' values), bf16, the
canonical hh-rlhf train split, batch 16, max_length 512, a few hundred steps. Prints tokens/s
(real, non-pad tokens) and MFU (model FLOPs / the bf16 matmul peak measured in the same run)
for rewardkit (concatenated and prefix-sharing forward) and TRL.

    python bench/gpu_train_check.py --data hh.jsonl.gz --tokenizer DIR [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today  # noqa: E402
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.model.tiny import TINY_LLAMA  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from trl_run import TrlRun, run_trl, trl_records  # noqa: E402

# The real decoders the GPU checks take the shape of (random weights: throughput does not
# depend on their values): hidden, feed-forward, layers, attention heads, key/value heads.
REAL_DECODERS = {
    "SmolLM2-135M": (576, 1536, 30, 9, 3),
    "Qwen2.5-0.5B": (896, 4864, 24, 14, 2),
}
SHAPE_KEYS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
)


def decoder_shape(name: str) -> dict:
    """The Llama-style config keywords (Qwen2 takes them too) of :data:`REAL_DECODERS` ``name``."""
    return dict(zip(SHAPE_KEYS, REAL_DECODERS[name]))


def decoder_backbone(folder: Path, tokenizer_dir: str, tiny: bool) -> tuple[str, object]:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tokenizer.eos_token is None:
        tokenizer.eos_token = tokenizer.sep_token or "</s>"
    shape = TINY_LLAMA if tiny else decoder_shape("SmolLM2-135M")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
        **shape,
    )
    torch.manual_seed(0)
    LlamaForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder), config


def flops_per_token(config, mean_len: float) -> float:
    """6 × linear parameters (Kaplan et al. 2020) + causal attention 6·layers·L·hidden."""
    h, layers = config.hidden_size, config.num_hidden_layers
    kv = h * config.num_key_value_heads // config.num_attention_heads
    linear = layers * (2 * h * h + 2 * h * kv + 3 * h * config.intermediate_size)
    return 6 * linear + 6 * layers * mean_len * h


def bf16_peak(device) -> float:
    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * 10 / (time.perf_counter() - start)


def pairs_both_keep(pairs, backbone: str, max_length: int = 512) -> list:
    """The pairs whose two rendered sides fit in ``max_length`` tokens with room for the end
    token both tools append. TRL drops a longer pair and rewardkit truncates it, so on the
    whole file they would train on different texts (run 1 on the H200: 6.4k against 11k tokens
    per step); on these pairs both see the same texts, batch for batch in the loss check."""
    from rewardkit.model.reward_model import RewardModel

    reference = RewardModel.from_backbone(backbone, max_length=max_length)
    tokenizer, template = reference.tokenizer, reference.template

    def size(prompt, response) -> int:
        text = template.render(tokenizer, prompt, response)[0]
        return len(tokenizer(text)["input_ids"]) + 2

    return [
        p for p in pairs if max(size(p.prompt, p.chosen), size(p.prompt, p.rejected)) <= max_length
    ]


def gpu_trl_run(backbone, pairs, steps, batch_size, constant_lr: bool = False) -> dict:
    """The GPU checks' TRL run (``bench/trl_run.py``, the one TRL anchor): bf16, lr 1e-5,
    max_length 512, ``steps`` steps on the same texts rewardkit trains on; ``constant_lr``
    logs every step's loss (the loss checks). TRL drops a pair over max_length 512
    (:func:`pairs_both_keep` keeps the pairs it keeps)."""
    rows, append_eos = trl_records(backbone, pairs, 512)
    schedule = "constant" if constant_lr else "linear"
    run = TrlRun(backbone, batch_size, 1e-5, precision="bf16", max_steps=steps, schedule=schedule)
    return run_trl(run, rows, append_eos)


RUNS = ("trl", "rewardkit-concatenated", "rewardkit-prefix-sharing")


def run_one(name: str, args, backbone: str, train_pairs) -> dict:
    """One tool's run, in this (fresh) process."""
    if name == "trl":
        return gpu_trl_run(backbone, train_pairs, args.steps, args.batch_size)
    strategy = name.removeprefix("rewardkit-")
    work = Path(args.out)
    result = train(
        TrainConfig(
            data=args.data,
            out=str(work / strategy),
            backbone=backbone,
            epochs=100,
            max_steps=args.steps,
            batch_size=args.batch_size,
            lr=1e-5,
            max_length=512,
            precision="bf16",
            pair_forward=strategy,
            token_cache=str(work / "cache"),
        ),
        quiet=True,
        progress=False,
    )
    t = result.metrics["training"]
    return {"seconds": t["loop_seconds"], "tokens": t["tokens_seen"], "steps": t["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=None)
    parser.add_argument("--only", choices=RUNS, help=argparse.SUPPRESS)  # one run (a child)
    args = parser.parse_args()
    quiet_libraries()
    args.out = args.out or tempfile.mkdtemp(prefix="rk-gpu-")
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    pairs, _ = read_pairs(args.data)
    train_pairs, _ = split_by_prompt(pairs, 0.2)
    backbone, config = decoder_backbone(work / "backbone", args.tokenizer, args.tiny)
    if args.only:
        (work / f"{args.only}.json").write_text(
            json.dumps(run_one(args.only, args, backbone, train_pairs))
        )
        return
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n_params = sum(
        p.numel()
        for p in __import__("transformers")
        .AutoModelForSequenceClassification.from_pretrained(backbone)
        .parameters()
    )
    peak = bf16_peak(device)
    print(
        f"machine: {machine()}\ndate: {today()}\ndecoder: {n_params / 1e6:.0f}M parameters; "
        f"measured bf16 matmul peak {peak / 1e12:.0f} TFLOP/s",
        flush=True,
    )
    results = {"machine": machine(), "date": today(), "params": n_params, "peak_flops": peak}
    # Each tool in a fresh process: kernel caches (cuDNN attention plans, lazily loaded
    # kernels) warmed by one run must not speed up the next.
    for name in RUNS:
        child = [
            sys.executable,
            __file__,
            "--only",
            name,
            "--data",
            args.data,
            "--tokenizer",
            args.tokenizer,
            "--steps",
            str(args.steps),
            "--batch-size",
            str(args.batch_size),
            "--out",
            str(work),
        ] + (["--tiny"] if args.tiny else [])
        subprocess.run(child, check=True)
        results[name] = json.loads((work / f"{name}.json").read_text())
    base = results["trl"]["tokens"] / results["trl"]["seconds"]
    base_pairs = results["trl"]["steps"] / results["trl"]["seconds"]
    for name in RUNS:
        row = results[name]
        rate = row["tokens"] / row["seconds"]
        mean_len = row["tokens"] / max(2 * row["steps"] * args.batch_size, 1)
        mfu = rate * flops_per_token(config, mean_len) / peak
        row.update(tokens_per_s=rate, mfu=mfu)
        print(
            f"{name:26s} {row['steps']} steps in {row['seconds']:.1f} s: {rate:,.0f} tokens/s, "
            f"MFU {100 * mfu:.1f}%, {rate / base:.2f}× TRL's tokens/s, "
            f"{row['steps'] / row['seconds'] / base_pairs:.2f}× TRL's pairs/s",
            flush=True,
        )
    (work / "gpu_results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
