"""The overoptimization lab on real candidates (Gao et al. 2022's synthetic setup): SmolLM2
samples for hh-rlhf prompts, a strong reward model as gold, a weaker one as the proxy.

* prompts: the first ``--prompts`` distinct prompts of hh-rlhf harmless's canonical *eval*
  split (held out from both reward models);
* candidates: ``rewardkit sample --model smollm2 --n 16`` (SmolLM2-135M-Instruct, offline);
* gold: all-MiniLM-L6-v2 trained on all 1,874 canonical train pairs with 5 bootstrap heads
  (its mean normalized reward);
* proxy: the same recipe, one model, on a seeded 25% of those train pairs;
* ``rewardkit overopt --proxy PROXY --candidates C --gold GOLD``.

Each step is skipped when its output exists, so a stopped run resumes.

    python bench/overopt_real.py --out runs/overopt-real [--prompts 100] [--n 16]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HH_TEST, machine, today  # noqa: E402

DATA = HH_TEST / "test.jsonl.gz"


def rewardkit(*args: str) -> float:
    """Run ``rewardkit ARGS``; returns its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rewardkit", *args], check=True)
    return time.perf_counter() - start


def write_splits(work: Path, share: float, seed: int) -> dict[str, Path]:
    """The canonical split's train pairs (all, and a seeded ``share``) and eval pairs."""
    from rewardkit.data import read_pairs
    from rewardkit.data.splits import split_by_prompt
    from rewardkit.data.writers import pairs_to_jsonl

    pairs, _ = read_pairs(str(DATA))
    train, held_out = split_by_prompt(pairs, 0.2)
    keep = np.random.default_rng(seed).permutation(len(train))[: round(share * len(train))]
    paths = {name: work / f"{name}.jsonl" for name in ("train_all", "train_share", "eval")}
    for name, rows in (
        ("train_all", train),
        ("train_share", [train[i] for i in sorted(keep)]),
        ("eval", held_out),
    ):
        pairs_to_jsonl(paths[name], rows)
    print(f"train {len(train)} pairs, proxy share {len(keep)}, eval {len(held_out)}")
    return paths


def sample_in_parts(work: Path, prompts_file: Path, args) -> None:
    """``rewardkit sample`` in ``--processes`` single-threaded processes over contiguous parts
    of the prompts, merged in order into ``candidates.jsonl``. Part ``j`` starting at prompt
    ``s`` runs with ``--seed s`` and its ids are shifted by ``s``, so prompt ``i`` gets seed
    ``i`` and id ``i`` exactly as one process over all prompts gives (``sample``'s seed rule);
    on a busy 2-core machine single-threaded processes lose far less to waiting for each
    other's threads than one process with two threads."""
    from rewardkit.candidates.format import read_candidates, write_candidates
    from rewardkit.candidates.prompts import read_prompts
    from rewardkit.data.writers import write_jsonl

    prompts = read_prompts(str(prompts_file), limit=args.prompts)
    bounds = np.linspace(0, len(prompts), args.processes + 1).round().astype(int)
    jobs, parts = [], []
    for j, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        part_prompts, part_out = work / f"prompts-{j}.jsonl", work / f"candidates-{j}.jsonl"
        write_jsonl(part_prompts, [{"prompt": p} for p in prompts[start:stop]])
        parts.append((int(start), part_out))
        if part_out.is_file():
            continue
        command = [sys.executable, "-m", "rewardkit", "sample", "--model", "smollm2"]
        command += ["--prompts", str(part_prompts), "--n", str(args.n), "--threads", "1"]
        command += ["--max-new-tokens", str(args.max_new_tokens), "--seed", str(start)]
        jobs.append(subprocess.Popen([*command, "--out", str(part_out)]))
    if any(job.wait() for job in jobs):
        raise SystemExit("a sampling process failed (its error is above)")
    rows = []
    for start, part_out in parts:
        sets, _ = read_candidates(part_out)
        for k, cs in enumerate(sets):
            rows.append(
                {
                    "id": str(start + k),
                    "prompt": cs.prompt,
                    "responses": cs.responses,
                    **{key: cs.extra[key] for key in ("seed", "finish_reasons")},
                }
            )
    write_candidates(work / "candidates.jsonl", rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="runs/overopt-real")
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--share", type=float, default=0.25)
    parser.add_argument(
        "--processes", type=int, default=2, help="single-threaded sampling processes"
    )
    args = parser.parse_args()
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    paths = write_splits(work, args.share, seed=0)
    seconds = {}
    cands = work / "candidates.jsonl"
    if not cands.is_file():
        start = time.perf_counter()
        sample_in_parts(work, paths["eval"], args)
        seconds["sample"] = time.perf_counter() - start
    common = ["--max-length", "512", "--epochs", "1", "--seed", "0"]
    for name, data, extra in (
        ("gold", paths["train_all"], ["--ensemble", "5"]),
        ("proxy", paths["train_share"], []),
    ):
        if not (work / name / "config.json").is_file():
            seconds[f"train {name}"] = rewardkit(
                "train",
                "--data",
                str(data),
                "--eval-data",
                str(paths["eval"]),
                "--out",
                str(work / name),
                *common,
                *extra,
            )
    seconds["overopt"] = rewardkit(
        "overopt",
        "--proxy",
        str(work / "proxy"),
        "--candidates",
        str(cands),
        "--gold",
        str(work / "gold"),
        "--out",
        str(work / "lab"),
    )
    print(f"# {today()}, {machine()}; seconds per step: {seconds}")


if __name__ == "__main__":
    main()
