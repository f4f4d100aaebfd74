"""Where rewardkit's training speed comes from: each part switched off in turn, same run.

Every variant trains MiniLM on the *same* subset of the canonical hh-rlhf train split (one
pass, batch 16, lr 1e-4, max_length 512), so pairs/s are comparable; the anchor is the
default configuration of the same precision, measured in the same run. Also measured:

* the token cache: preparing the data cold (tokenize + write) against warm (memory-map);
* padding: padded tokens over real tokens with and without length-grouped batches, over the
  whole train split (the most any padding-free kernel could save on top);
* ``torch.inference_mode`` for evaluation against ``no_grad``.

    python bench/train_ablation.py                 # ~10 min on 2 cores
    python bench/train_ablation.py --pairs 160     # quicker, noisier
    python bench/train_ablation.py --tiny          # smoke test: tiny model
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rewardkit.model.reward_model as reward_model_module  # noqa: E402
import rewardkit.train.finetune as finetune_module  # noqa: E402
from common import machine, today, training_workspace  # noqa: E402
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import pairs_to_jsonl, read_pairs, split_by_prompt  # noqa: E402
from rewardkit.model.inference import forward_sequences  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from rewardkit.train.batching import length_grouped_batches, pair_length  # noqa: E402
from rewardkit.train.prepare import prepare_data  # noqa: E402

HH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "hh-rlhf-harmless-base"
    / "test.jsonl.gz"
)

# name, precision, TrainConfig overrides, parts switched off (see switched_off)
VARIANTS = [
    ("fp32: default", "fp32", {}, ()),
    ("fp32: full last layer (no [CLS]-only last layer)", "fp32", {}, ("first_token",)),
    ("fp32: random batches (no length grouping)", "fp32", {"group_by_length": False}, ()),
    ("fp32: 1 thread", "fp32", {"threads": 1}, ()),
    ("bf16: default", "bf16", {}, ()),
    ("bf16: PyTorch's bf16 SDPA (no fp32 attention core)", "bf16", {}, ("attention_core",)),
    ("bf16: full last layer (no [CLS]-only last layer)", "bf16", {}, ("first_token",)),
    ("bf16: random batches (no length grouping)", "bf16", {"group_by_length": False}, ()),
]


@contextmanager
def switched_off(parts: tuple[str, ...]):
    """Switch internal speed-ups off for one run: the fp32 attention core under CPU bf16
    (``attention_core``) and the [CLS]-only last encoder layer (``first_token``)."""
    saved = (finetune_module.use_fast_attention, reward_model_module.enable_first_token_last_layer)
    if "attention_core" in parts:
        finetune_module.use_fast_attention = lambda model: False
    if "first_token" in parts:
        reward_model_module.enable_first_token_last_layer = lambda model: False
    try:
        yield
    finally:
        finetune_module.use_fast_attention = saved[0]
        reward_model_module.enable_first_token_last_layer = saved[1]


def run_variant(
    train_file: Path,
    eval_file: Path,
    args,
    precision: str,
    overrides: dict,
    off: tuple[str, ...],
    out: Path,
) -> dict:
    config = TrainConfig(
        data=str(train_file),
        eval_data=str(eval_file),
        out=str(out),
        backbone=args.backbone,
        epochs=1,
        batch_size=16,
        lr=1e-4,
        max_length=args.max_length,
        precision=precision,
        proxy_eval=False,
        **overrides,
    )
    with switched_off(off):
        result = train(config, quiet=True, progress=False)
    training = result.metrics["training"]
    torch.set_num_threads(args.threads)  # undo a variant's thread setting
    return {
        "pairs": training["pairs_seen"],
        "seconds": training["loop_seconds"],
        "pairs_per_s": training["pairs_seen"] / training["loop_seconds"],
        "tokens_per_s": training["tokens_seen"] / training["loop_seconds"],
    }


def padding_overhead(lengths: np.ndarray, group: bool) -> float:
    """Padded tokens computed / real tokens, for the concatenated (2B, L) forward."""
    padded = 0
    for rows in length_grouped_batches(lengths, 16, seed=0, group_by_length=group):
        padded += 2 * len(rows) * int(lengths[rows].max())
    return padded / float(lengths.sum() * 2)


def cache_timing(train_file: Path, eval_file: Path, args, work: Path) -> dict:
    model = RewardModel.from_backbone(args.backbone, max_length=args.max_length)
    cache = work / "token-cache"
    timings = {}
    for label, folder in (("off", "off"), ("cold", str(cache)), ("warm", str(cache))):
        config = TrainConfig(
            data=str(train_file),
            eval_data=str(eval_file),
            out=str(work / "x"),
            backbone=args.backbone,
            max_length=args.max_length,
            token_cache=folder,
        )
        start = time.perf_counter()
        data = prepare_data(config, model)
        timings[label] = time.perf_counter() - start
    timings["pairs"] = len(data.train_encoded) + len(data.eval_encoded)
    lengths = np.array([pair_length(p) for p in data.train_encoded])
    return timings, lengths


def inference_timing(args, texts: list[tuple[str, str]]) -> dict:
    model = RewardModel.from_backbone(args.backbone, max_length=args.max_length)
    ids = [fitted.ids for fitted in model.encoder.fit_texts(texts)]
    plain = forward_sequences.__wrapped__  # forward_sequences() without its inference_mode
    runs = {
        "inference_mode": lambda: forward_sequences(model, ids),
        "no_grad": lambda: torch.no_grad()(plain)(model, ids),
    }
    forward_sequences(model, ids[:8])  # warm-up
    timings = {}
    for label, call in runs.items():
        start = time.perf_counter()
        call()
        timings[label] = len(texts) / (time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=320, help="training pairs per variant")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--data", default=str(HH))
    parser.add_argument("--backbone", default=None, help="default: all-MiniLM-L6-v2")
    parser.add_argument("--only", default="", help="comma-separated variant numbers (1-based)")
    parser.add_argument("--tiny", action="store_true", help="smoke test: tiny random BERT")
    parser.add_argument("--out", default=None, help="folder for runs and results.json")
    args = parser.parse_args()
    quiet_libraries()
    args.threads = torch.get_num_threads()
    work = training_workspace(args, "rk-ablation")
    if args.tiny:
        args.pairs = min(args.pairs, 48)
    pairs, _ = read_pairs(args.data)
    train_pairs, eval_pairs = split_by_prompt(pairs, 0.2)
    train_file, eval_file = work / "train.jsonl", work / "eval.jsonl"
    pairs_to_jsonl(train_file, train_pairs[: args.pairs])
    pairs_to_jsonl(eval_file, eval_pairs[:16])
    print(
        f"machine: {machine()}\ndate: {today()}\ndata: first {args.pairs} pairs of the "
        f"canonical train split of {args.data}",
        flush=True,
    )

    results = {"machine": machine(), "date": today(), "pairs": args.pairs, "variants": []}
    pairs_to_jsonl(work / "all-train.jsonl", train_pairs)
    cache, lengths = cache_timing(work / "all-train.jsonl", eval_file, args, work)
    results["token_cache"] = cache
    print(
        f"token cache, whole train split ({cache['pairs']} pairs): tokenize without cache "
        f"{cache['off']:.1f} s, cold {cache['cold']:.1f} s, warm {cache['warm']:.2f} s "
        f"({cache['off'] / max(cache['warm'], 1e-9):.0f}× faster than tokenizing)"
    )
    grouped, random = padding_overhead(lengths, True), padding_overhead(lengths, False)
    results["padding"] = {"grouped": grouped, "random": random}
    print(
        f"padding, whole train split: length-grouped batches compute {grouped:.2f}× the real "
        f"tokens, random batches {random:.2f}×",
        flush=True,
    )

    chosen = [
        v for i, v in enumerate(VARIANTS, 1) if not args.only or str(i) in args.only.split(",")
    ]
    anchors = {}
    for name, precision, overrides, off in chosen:
        out = work / f"run-{len(results['variants'])}"
        row = run_variant(train_file, eval_file, args, precision, overrides, off, out)
        row.update(name=name, precision=precision)
        if name.endswith("default"):
            anchors[precision] = row["pairs_per_s"]
        anchor = anchors.get(precision)
        row["vs_default"] = row["pairs_per_s"] / anchor if anchor else None
        results["variants"].append(row)
        ratio = f"{row['vs_default']:.2f}× the default" if anchor else "(no default in this run)"
        print(
            f"{name:55s} {row['pairs_per_s']:6.2f} pairs/s {row['tokens_per_s']:7.0f} "
            f"tokens/s  {ratio}",
            flush=True,
        )

    texts = [(p.prompt, p.chosen) for p in eval_pairs[:64]]
    speed = inference_timing(args, texts)
    results["scoring_texts_per_s"] = speed
    print(
        "evaluation forward (texts/s): "
        + ", ".join(f"{k} {v:.1f} ({v / speed['inference_mode']:.2f}×)" for k, v in speed.items())
    )
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
