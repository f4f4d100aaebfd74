"""Frozen-feature fast path against full fine-tuning: an 8-member ensemble, cold cache.

Anchor: one full fine-tune of all-MiniLM-L6-v2 on the canonical hh-rlhf train split
(`rewardkit train`, 1 epoch), measured in this run and multiplied by 8 — what 8 separately
fine-tuned members would cost. Ours: `rewardkit train --freeze-backbone --ensemble 8` with an
empty feature cache (every text embedded once, then 8 bootstrap heads fitted). Both are
timed end to end (process start to saved model) and evaluated on the canonical eval split.

    python bench/frozen_vs_full.py [--members 8] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, pct, today  # noqa: E402

HH = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "hh-rlhf-harmless-base"
    / "test.jsonl.gz"
)


def timed_train(args: list[str], cache: Path) -> tuple[float, dict]:
    out = Path(args[args.index("--out") + 1])
    env = dict(os.environ, REWARDKIT_CACHE=str(cache), TRANSFORMERS_VERBOSITY="error")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rewardkit", "train", *args],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - start, json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--data", default=str(HH))
    parser.add_argument("--tiny", action="store_true", help="smoke test: tiny BERT, small data")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rk-bench-frozen-"))
    common = ["--data", args.data, "--max-length", "512", "--epochs", "1"]
    if args.tiny:
        from tiny import tiny_bert_backbone, tiny_world_file

        common = [
            "--data",
            tiny_world_file(work / "world"),
            "--max-length",
            "128",
            "--backbone",
            tiny_bert_backbone(work / "tiny-bert"),
            "--max-steps",
            "3",
        ]
    print(f"machine: {machine()}\ndate: {today()}\ndata: {common[1]}", flush=True)
    full_s, full = timed_train([*common, "--out", str(work / "full")], work / "cache-full")
    print(f"one full fine-tune: {full_s:.0f} s, eval accuracy {pct(full['accuracy'])}", flush=True)
    frozen_s, frozen = timed_train(
        [
            *common,
            "--out",
            str(work / "frozen"),
            "--freeze-backbone",
            "--ensemble",
            str(args.members),
        ],
        work / "cache-frozen",
    )
    print(
        f"--freeze-backbone --ensemble {args.members} (cold cache): {frozen_s:.0f} s, eval "
        f"accuracy of the mean head {pct(frozen['accuracy'])}",
        flush=True,
    )
    anchor = full_s * args.members
    print(
        f"{args.members} full fine-tunes ≈ {anchor:.0f} s; the frozen ensemble takes "
        f"{frozen_s:.0f} s = {100 * frozen_s / anchor:.1f}% of that (target ≤ 5%)"
    )


if __name__ == "__main__":
    main()
