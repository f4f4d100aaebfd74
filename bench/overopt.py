"""The overoptimization lab on the demo world: does the gold peak move to larger n as the
proxy gets more data, and do centering, heads, members and WARM help?

Gold is the world's own reward; candidates are 200 sets of 16 world responses on held-out
prompts (``rewardkit.world.world_candidates``). Proxies, each trained like the demo (MiniLM,
one epoch, seed 0) with 5 bootstrap heads so each also gives a worst case and an
uncertainty-weighted reward (Coste et al. 2023):

* data size: 10%, 30% and 100% of the world's 2,000 training labels;
* reward centering (Eisenstein et al. 2023): 100% with ``--center-coef 0.01``;
* members vs heads: 5 separately fine-tuned members on 30%, against the 5 heads on 30%;
* WARM (Ramé et al. 2024): those 5 members weight-averaged by ``rewardkit merge``.

Results are gold and proxy values, not timings (the wall time is printed for the record).

    python bench/overopt.py [--out DIR] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today, training_workspace  # noqa: E402

SHARES = (0.1, 0.3, 1.0)


def train_proxy(work: Path, name: str, train_file: Path, eval_file: Path, args, **options) -> str:
    from rewardkit.train import train
    from rewardkit.train.config import TrainConfig

    out = work / name
    if not (out / "config.json").is_file() and not (out / "ensemble.json").is_file():
        train(
            TrainConfig(
                data=str(train_file),
                eval_data=str(eval_file),
                out=str(out),
                backbone=args.backbone,
                max_length=args.max_length,
                epochs=1,
                seed=0,
                ensemble=5,
                proxy_eval=False,
                **options,
            ),
            progress=False,
        )
    return str(out)


def build_inputs(work: Path, args) -> tuple[Path, Path, dict[float, Path]]:
    """The world, its candidates file, and train files with the first share of the labels."""
    from rewardkit.data.writers import write_jsonl
    from rewardkit.world import WorldConfig, build_world, world_candidates, write_world

    world = build_world(
        WorldConfig(n_train_pairs=args.train_pairs, n_eval_pairs=args.eval_pairs, seed=0)
    )
    paths = write_world(world, work / "world")
    candidates = work / "world" / "candidates.jsonl"
    write_jsonl(candidates, world_candidates(world, args.prompts, args.candidates, seed=0))
    lines = Path(paths["train"]).read_text(encoding="utf-8").splitlines()
    shares = {}
    for share in SHARES:
        path = work / "world" / f"train-{int(share * 100)}.jsonl"
        path.write_text("\n".join(lines[: max(8, int(share * len(lines)))]) + "\n", "utf-8")
        shares[share] = path
    return Path(paths["eval"]), candidates, shares


def run_lab(proxies: list[str], candidates: Path, out: Path) -> dict:
    from rewardkit.overopt.config import OveroptConfig
    from rewardkit.overopt.run import run_overopt

    config = OveroptConfig(proxy=proxies, candidates=str(candidates), gold="world", out=str(out))
    return run_overopt(config, progress=False)


def table(lab: dict) -> str:
    rows = [
        "| selector | gold trend | observed peak n (95% CI) | gold at peak | gold at n=N | "
        "α | β | predicted peak n* | flattery among winners (of candidates) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in lab["selectors"].items():
        ci = r["bootstrap"]["observed_peak_n"]
        n_star = r["fit"]["predicted_peak_n"]
        flattery = r["tricks"].get("world-flattery-bias")
        share = "–"
        if flattery:
            winners, overall = flattery["share_of_winners"], flattery["share_of_candidates"]
            share = f"{100 * winners:.1f}% ({100 * overall:.1f}%)"
        rows.append(
            f"| {name} | {r['trend']['verdict']} | {r['observed_peak']['n']} "
            f"({ci[0]:.0f}–{ci[1]:.0f}) | {r['observed_peak']['gold']:.3f} | "
            f"{r['gold_at_largest_n']:.3f} | {r['fit']['alpha']:.3f} | {r['fit']['beta']:.3f} | "
            f"{'none' if n_star is None else f'{n_star:.1f}'} | {share} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=None)
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--train-pairs", type=int, default=2000)
    parser.add_argument("--eval-pairs", type=int, default=500)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--tiny", action="store_true", help="smoke test: tiny BERT, small data")
    args = parser.parse_args()
    if args.tiny:
        args.train_pairs, args.eval_pairs, args.prompts, args.candidates = 80, 16, 12, 6
    work = training_workspace(argparse.Namespace(out=args.out, tiny=False), "rk-bench-overopt")
    if args.tiny:
        from tiny import tiny_bert_backbone

        args.backbone = tiny_bert_backbone(work / "tiny-bert")
    start = time.perf_counter()
    eval_file, candidates, shares = build_inputs(work, args)
    proxies = [train_proxy(work, f"p{int(s * 100)}", shares[s], eval_file, args) for s in SHARES]
    centered = train_proxy(work, "centered", shares[1.0], eval_file, args, center_coef=0.01)
    members = train_proxy(work, "members30", shares[0.3], eval_file, args, ensemble_mode="members")
    warm = work / "warm30"
    from rewardkit.overopt.config import MergeConfig
    from rewardkit.overopt.merge import merge_models

    manifest = json.loads((Path(members) / "ensemble.json").read_text())
    merge_models(
        MergeConfig(models=[str(Path(members) / m) for m in manifest["members"]], out=str(warm))
    )
    lab = run_lab([*proxies, centered, members, str(warm)], candidates, work / "lab")
    print(f"# overoptimization lab, {today()}, {machine()}")
    print(
        f"{lab['prompts']} prompts × {lab['candidates_per_prompt']} candidates; gold-best "
        f"{lab['gold_best']:.3f}, random candidate {lab['gold_mean']:.3f}"
    )
    print(table(lab))
    print(lab["findings"]["paragraph"])
    print(f"wall time {time.perf_counter() - start:.0f} s; lab: {work / 'lab'}")


if __name__ == "__main__":
    main()
