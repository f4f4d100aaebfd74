"""This checkout's speed against an earlier commit's, in one run with alternating rounds.

Each round runs the same benchmark twice in fresh processes, once on this checkout's code and
once on ``--base`` (checked out into a temporary git worktree; its own ``src/`` and ``bench/``
scripts, so each side runs the benchmark as that commit wrote it). Rounds alternate which side
goes first (ABBA), so a drift in the machine's speed hits both alike. It prints every round's
figures and its ratio new/old, and the ratio of the summed times.

========  ============================================================================
--bench   the figure compared (bigger is faster)
========  ============================================================================
train     ``bench/train_ablation.py --only 1``: the fp32 default variant's pairs/s
score     ``bench/score_vs_pipeline.py``: ``rewardkit score`` fp32 texts/s (device default
          batch), the pipeline anchor of each run printed beside it
========  ============================================================================

    python bench/against_commit.py --bench train --base 697742c --rounds 3
    python bench/against_commit.py --bench score --base 697742c --rounds 3 --model runs/rm

Run it alone on the machine: another job on the cores makes the ratios noise.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import commit

ROOT = Path(__file__).resolve().parents[1]
HH = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base" / "test.jsonl.gz"
FIGURES = {
    "train": re.compile(r"^fp32: default\s+([0-9.]+) pairs/s", re.M),
    "score": re.compile(r"^rewardkit fp32 batch auto:\s+([0-9.]+) texts/s", re.M),
}
ANCHOR = re.compile(r"^anchor: pipeline batch \d+,\s+([0-9.]+) texts/s", re.M)


def bench_command(tree: Path, args) -> list[str]:
    if args.bench == "train":
        return [
            sys.executable,
            str(tree / "bench" / "train_ablation.py"),
            "--only",
            "1",
            "--pairs",
            str(args.pairs),
            "--data",
            args.data,
        ]
    command = [
        sys.executable,
        str(tree / "bench" / "score_vs_pipeline.py"),
        "--data",
        args.data,
        "--rounds",
        "2",
        "--batch-sizes",
        "0",
        "--model",
        args.model,
    ]
    return command + (["--limit", str(args.limit)] if args.limit else [])


def run_side(tree: Path, args) -> tuple[float, float | None, str]:
    """``(figure, pipeline anchor or None, output)`` of one benchmark run on ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        bench_command(tree, args), cwd=tree, env=env, capture_output=True, text=True, timeout=3600
    )
    output = done.stdout + done.stderr
    match = FIGURES[args.bench].search(output)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{tree}: the benchmark failed (exit {done.returncode}):\n{output}")
    anchor = ANCHOR.search(output)
    return float(match.group(1)), float(anchor.group(1)) if anchor else None, output


def which_code(tree: Path) -> str:
    """The rewardkit a side imports (its own src/), to show that the sides really differ."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [sys.executable, "-c", "import rewardkit; print(rewardkit.__file__)"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bench", choices=sorted(FIGURES), required=True)
    parser.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", default=str(HH))
    parser.add_argument("--pairs", type=int, default=160, help="train: pairs per run")
    parser.add_argument("--model", default=None, help="score: reward model folder (required)")
    parser.add_argument("--limit", type=int, default=None, help="score: first N eval pairs")
    args = parser.parse_args()
    if args.bench == "score" and not args.model:
        parser.error("--bench score needs --model (a saved reward model folder)")
    args.data, args.model = (
        str(Path(args.data).resolve()),
        args.model and str(Path(args.model).resolve()),
    )
    with tempfile.TemporaryDirectory(prefix="rk-against-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base],
            check=True,
            capture_output=True,
        )
        try:
            compare(base, args)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                capture_output=True,
            )


def compare(base: Path, args) -> None:
    print(
        f"new: {ROOT} (HEAD {commit()}, working tree) → {which_code(ROOT)}\n"
        f"old: {args.base} → {which_code(base)}\nbench: {args.bench}",
        flush=True,
    )
    figures: dict[str, list[float]] = {"new": [], "old": []}
    for round_ in range(args.rounds):
        order = [("old", base), ("new", ROOT)]
        if round_ % 2:
            order.reverse()
        line = []
        for side, tree in order:
            figure, anchor, _ = run_side(tree, args)
            figures[side].append(figure)
            line.append(f"{side} {figure:.2f}" + (f" (pipeline {anchor:.1f})" if anchor else ""))
        ratio = figures["new"][-1] / figures["old"][-1]
        print(f"round {round_ + 1}: {', '.join(line)} → new/old {ratio:.3f}", flush=True)
    ratios = [n / o for n, o in zip(figures["new"], figures["old"])]
    # a rate's mean over equal work is the harmonic mean of the rounds' rates
    new = statistics.harmonic_mean(figures["new"])
    old = statistics.harmonic_mean(figures["old"])
    print(
        f"per-round new/old: {', '.join(f'{r:.3f}' for r in ratios)}\n"
        f"overall (equal work per round): new {new:.2f}, old {old:.2f} → new/old "
        f"{new / old:.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
