"""Scoring throughput: ``rewardkit score`` against a transformers text-classification pipeline.

Same model, same texts (both sides of every canonical hh-rlhf eval pair, rendered exactly as
rewardkit scores them). The anchor is the pipeline with ``function_to_apply="none"`` at its
best batch size among 1, 8 and 32, measured in the same run; then ``--rounds`` timed rounds
alternate the anchor and rewardkit (fp32, bf16), so the machine's drift hits both. Scores
must agree: fp32 to 1e-5; bf16 within 2e-2 of fp32 with the same ranking inside every pair.

rewardkit runs at ``--batch-sizes`` (default 0: the device's default, as ``rewardkit score``
uses it) and computes what ``rewardkit score`` computes: the rewards and, for a model saved
with ``feature_stats.safetensors``, each text's trust signals (OOD distance, percentile, flag:
:mod:`rewardkit.eval.trust`) from the same forward pass. ``--tiny`` saves statistics with its
tiny model, so the smoke test runs that path.

Tokenizer parallelism is set on for the whole process (the tokenizers library's default),
because a pipeline switches it off process-wide the first time it runs, which would otherwise
leave rewardkit, measured after it, tokenizing on one core. Last, it splits one rewardkit fp32
pass into tokenizing and the model's forwards.

    python bench/score_vs_pipeline.py [--model DIR] [--limit N] [--pairs eval|all] [--tiny]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today  # noqa: E402
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.eval.ood import fit_feature_statistics  # noqa: E402
from rewardkit.eval.trust import Trust  # noqa: E402
from rewardkit.model.device import resolve_device  # noqa: E402
from rewardkit.model.inference import forward_sequences  # noqa: E402
from rewardkit.model.loading import load_reward_model  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402

HH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "hh-rlhf-harmless-base"
    / "test.jsonl.gz"
)


def untrained_model(folder: Path, backbone: str | None) -> str:
    """The default backbone with a fresh head, saved: enough for throughput and parity."""
    torch.manual_seed(0)
    model = RewardModel.from_backbone(backbone, max_length=512)
    model.save_pretrained(folder)
    return str(folder)


def save_feature_stats(model_dir: str, pairs) -> None:
    """OOD statistics of ``pairs`` saved with the model, as training saves them (--tiny)."""
    scored = load_reward_model(model_dir).score_pairs(pairs)
    stats = fit_feature_statistics(
        scored.features_chosen, scored.features_rejected, reference="bench pairs"
    )
    stats.save(model_dir)


def pipeline_scores(
    model_dir: str, texts: list[str], batch_size: int, device: torch.device
) -> tuple[np.ndarray, float]:
    from transformers import pipeline

    pipe = pipeline(
        "text-classification",
        model=model_dir,
        tokenizer=model_dir,
        device=device if device.type == "cuda" else -1,
        function_to_apply="none",
        top_k=None,
    )
    pipe(texts[:2], batch_size=batch_size, truncation=True, max_length=512)  # warm-up
    _synchronize(device)
    start = time.perf_counter()
    out = pipe(texts, batch_size=batch_size, truncation=True, max_length=512)
    _synchronize(device)
    seconds = time.perf_counter() - start
    return np.array([row[0]["score"] for row in out]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", default=None, help="reward model folder (default: MiniLM + fresh head)"
    )
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--data", default=str(HH))
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pairs")
    parser.add_argument(
        "--batch-sizes",
        default="0",
        help="rewardkit's batch sizes, comma-separated (0: the device's default)",
    )
    parser.add_argument(
        "--pairs",
        choices=("eval", "all"),
        default="eval",
        help="score the canonical eval split's pairs, or every pair in --data",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="timed rounds, each: pipeline, rewardkit fp32, rewardkit bf16",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA when visible), cpu or cuda: both scorers run there",
    )
    parser.add_argument("--tiny", action="store_true", help="smoke test on a tiny random BERT")
    args = parser.parse_args()
    quiet_libraries()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="rk-bench-score-"))
    if args.tiny:
        from tiny import tiny_bert_backbone, tiny_world_file

        args.backbone = tiny_bert_backbone(work / "tiny-bert")
        args.data = tiny_world_file(work / "world")
        args.limit = args.limit or 16
    model_dir = args.model or untrained_model(work / "model", args.backbone)
    pairs, _ = read_pairs(args.data)
    if args.tiny:
        save_feature_stats(model_dir, pairs)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    eval_pairs = split_by_prompt(pairs, 0.2)[1] if args.pairs == "eval" else pairs
    eval_pairs = eval_pairs[: args.limit] if args.limit else eval_pairs
    device = resolve_device(args.device)
    # what `rewardkit score` loads and computes: the scorer and the trust signals
    trusts = {
        precision: Trust(load_reward_model(model_dir, precision=precision, device=str(device)))
        for precision in ("fp32", "bf16")
    }
    fp32 = trusts["fp32"].scorer.primary
    # only texts that fit: the pipeline truncates on the right, rewardkit cuts the prompt
    encoded = [(p.prompt, r) for p in eval_pairs for r in (p.chosen, p.rejected)]
    texts, keep = [], []
    for i, (prompt, response) in enumerate(encoded):
        text = fp32.template.render(fp32.tokenizer, prompt, response)[0]
        if len(fp32.encoder.encode_text(prompt, response).ids) <= 512:
            texts.append(text)
            keep.append(i)
    prompts = [encoded[i][0] for i in keep]
    responses = [encoded[i][1] for i in keep]
    print(
        f"machine: {machine()}\ndate: {today()}\ndevice: {_device_name(device)}\n"
        f"model: {model_dir}\n{len(texts)} texts "
        f"(both sides of {len(eval_pairs)} {args.pairs} pairs that fit in 512 tokens)\n"
        f"trust signals: {_trust_line(trusts['fp32'])}",
        flush=True,
    )

    best = None
    for batch_size in (1, 8, 32):
        scores, seconds = pipeline_scores(model_dir, texts, batch_size, device)
        rate = len(texts) / seconds
        print(f"pipeline batch {batch_size:2d}: {rate:7.1f} texts/s", flush=True)
        if best is None or rate > best[0]:
            best = (rate, batch_size, scores)
    _, anchor_batch, anchor_scores = best

    # Timed rounds alternate anchor and rewardkit, so drift in the machine's speed between
    # the first and the last measurement hits every scorer alike.
    for trust in trusts.values():
        trust.score(prompts[:2], responses[:2])  # warm-up
    runs = [(precision, size) for precision in trusts for size in batch_sizes]
    seconds = {"pipeline": 0.0, **{run: 0.0 for run in runs}}
    results = {}
    for round_ in range(args.rounds):
        _, took = pipeline_scores(model_dir, texts, anchor_batch, device)
        seconds["pipeline"] += took
        for precision, size in runs:
            _synchronize(device)
            start = time.perf_counter()
            scores, _ = trusts[precision].score(prompts, responses, batch_size=size)
            _synchronize(device)
            seconds[(precision, size)] += time.perf_counter() - start
            results[(precision, size)] = scores.rewards
        print(f"round {round_ + 1}: pipeline {len(texts) / took:.1f} texts/s", flush=True)
    anchor_rate = args.rounds * len(texts) / seconds["pipeline"]
    print(
        f"anchor: pipeline batch {anchor_batch}, {anchor_rate:7.1f} texts/s over "
        f"{args.rounds} rounds",
        flush=True,
    )
    both = np.array([i // 2 for i in keep])
    for precision, size in runs:
        rate = args.rounds * len(texts) / seconds[(precision, size)]
        print(
            f"rewardkit {precision} batch {size or 'auto'}: {rate:7.1f} texts/s "
            f"→ {rate / anchor_rate:.2f}× the pipeline's best (batch {anchor_batch})",
            flush=True,
        )
    for size in batch_sizes:
        fp32_scores, bf16_scores = results[("fp32", size)], results[("bf16", size)]
        fp32_gap = float(np.max(np.abs(fp32_scores - anchor_scores)))
        bf16_gap = float(np.max(np.abs(bf16_scores - fp32_scores)))
        same_rank = _same_pair_ranking(both, fp32_scores, bf16_scores)
        print(
            f"batch {size or 'auto'}: fp32 vs pipeline: max |Δ| = {fp32_gap:.2e} "
            f"({'OK' if fp32_gap <= 1e-5 else 'FAIL'} at 1e-5); bf16 vs fp32: max |Δ| = "
            f"{bf16_gap:.2e} ({'OK' if bf16_gap <= 2e-2 else 'FAIL'} at 2e-2), "
            f"same ranking in {same_rank[0]}/{same_rank[1]} pairs"
        )
    _print_split(fp32, prompts, responses, batch_sizes[-1], device)


def _trust_line(trust: Trust) -> str:
    if not trust.needs_features:
        return "none (the model has no feature_stats.safetensors)"
    return "OOD distance, percentile and flag of every text (feature_stats.safetensors)"


def _print_split(model: RewardModel, prompts, responses, batch_size: int, device) -> None:
    """Where one fp32 pass's time goes: tokenizing (host) against the forwards."""
    start = time.perf_counter()
    sequences = [fitted.ids for fitted in model.encoder.fit_texts(list(zip(prompts, responses)))]
    tokenizing = time.perf_counter() - start
    _synchronize(device)
    start = time.perf_counter()
    forward_sequences(model, sequences, batch_size=batch_size)
    _synchronize(device)
    forwards = time.perf_counter() - start
    print(
        f"one fp32 pass (batch {batch_size or 'auto'}): tokenizing {tokenizing:.2f} s, "
        f"forwards {forwards:.2f} s",
        flush=True,
    )


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _same_pair_ranking(pair_of_text, a, b) -> tuple[int, int]:
    agree = total = 0
    for pair in np.unique(pair_of_text):
        rows = np.nonzero(pair_of_text == pair)[0]
        if len(rows) == 2:
            total += 1
            agree += (a[rows[0]] > a[rows[1]]) == (b[rows[0]] > b[rows[1]])
    return agree, total


if __name__ == "__main__":
    main()
