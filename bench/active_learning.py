"""Active learning: which pairs should people label next? Random, margin and ensemble-spread
queues compared by simulating annotation (not a timing benchmark: it reports accuracies).

Data: the canonical train split of hh-rlhf harmless-base (prompt-hash split, 1,874 train /
438 eval pairs), and the demo world (``rewardkit.world``), where each pair's gold preference
is known. Every text is embedded once by the frozen all-MiniLM-L6-v2 backbone through
rewardkit's one scorer (``Scorer.score_pairs(..., features=True)``), cached on disk; each round
refits the frozen-feature linear heads (``rewardkit.train.heads.fit_heads``) in a second.

Simulation, per seed: labels hidden; a random seed set of ``--seed-size`` pairs is labelled;
then ``--rounds`` rounds, each labelling ``--per-round`` more pairs chosen by the queue:

* ``random``: uniformly among the unlabelled;
* ``margin``: smallest |r_a − r_b| of the current head (P(a ≻ b) closest to 0.5);
* ``spread``: largest std over ``--members`` bootstrap heads of r_a − r_b (Coste et al. 2023).

After each round the head (the ensemble's mean for ``spread``) is scored on the eval split:
accuracy against the labels (hh-rlhf) or against gold (world). Reported: mean ± sd over
``--seeds`` seeds per round, the area under each curve (mean accuracy over rounds, trapezoid),
and for margin and spread a paired 95% t-interval of their area minus random's, seed by seed.

    python bench/active_learning.py [--seeds 10] [--rounds 10] [--per-round 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.files import cache_dir  # noqa: E402
from rewardkit.train.heads import PairFeatures, fit_heads  # noqa: E402

HH = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hh-rlhf-harmless-base"
QUEUES = ("random", "margin", "spread")
L2 = 1e-2  # fixed: cross-validating 20 labels would be noise


def embedded(name: str, pairs, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Chosen and rejected features of ``pairs`` (N, H), cached under rewardkit's cache."""
    from rewardkit.model.reward_model import RewardModel
    from rewardkit.model.scorer import Scorer

    blob = json.dumps([[p.prompt, p.chosen, p.rejected] for p in pairs], sort_keys=True)
    key = hashlib.sha256(f"{name}:{max_length}:{blob}".encode()).hexdigest()[:20]
    path = cache_dir("bench-active-learning") / f"{key}.npz"
    if path.is_file():
        stored = np.load(path)
        return stored["chosen"], stored["rejected"]
    scorer = Scorer([RewardModel.from_backbone(None, max_length=max_length)])
    scored = scorer.score_pairs(pairs, overlong="truncate", progress=True, features=True)
    assert len(scored.pairs) == len(pairs), "every pair is kept (truncated, not dropped)"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, chosen=scored.features_chosen, rejected=scored.features_rejected)
    return scored.features_chosen, scored.features_rejected


def hh_task(max_length: int) -> dict:
    pairs, _ = read_pairs(HH / "test.jsonl.gz")
    train, eval_ = split_by_prompt(pairs)
    return task("hh", train, eval_, max_length, truth=None)


def world_task(max_length: int, n_train: int, n_eval: int) -> dict:
    from rewardkit.world import WorldConfig, build_world

    world = build_world(WorldConfig(n_train_pairs=n_train, n_eval_pairs=n_eval, seed=0))
    gold = np.array([p.extra["gold_chosen"] > p.extra["gold_rejected"] for p in world.eval])
    return task("world", world.train, world.eval, max_length, truth=gold)


def task(name, train, eval_, max_length, truth) -> dict:
    """Features of both splits. Training pairs are shown to the learner in a random
    orientation (a, b); the hidden label says whether a is the chosen one."""
    fc, fr = embedded(name, train, max_length)
    ec, er = embedded(name, eval_, max_length)
    flip = np.random.default_rng(12345).random(len(train)) < 0.5
    a = np.where(flip[:, None], fr, fc)
    b = np.where(flip[:, None], fc, fr)
    eval_truth = np.ones(len(eval_), dtype=bool) if truth is None else truth
    return {
        "name": name,
        "a": a,
        "b": b,
        "a_wins": ~flip,
        "eval_c": ec,
        "eval_r": er,
        "eval_truth": eval_truth,
    }


def fit(t: dict, rows: np.ndarray, members: int, seed: int):
    wins = t["a_wins"][rows]
    chosen = np.where(wins[:, None], t["a"][rows], t["b"][rows])
    rejected = np.where(wins[:, None], t["b"][rows], t["a"][rows])
    n = len(rows)
    pairs = PairFeatures(chosen, rejected, np.zeros(n), np.zeros(n, bool), np.ones(n))
    return fit_heads(pairs, k=members, l2=L2, seed=seed, bootstrap=members > 1)


def accuracy(t: dict, heads) -> float:
    w, b = heads.mean_head()
    prefers_chosen = t["eval_c"] @ w + b > t["eval_r"] @ w + b
    return float(np.mean(prefers_chosen == t["eval_truth"]))


def pick(t: dict, queue: str, heads, pool: np.ndarray, k: int, rng) -> np.ndarray:
    if queue == "random":
        return rng.choice(pool, size=k, replace=False)
    deltas = (t["a"][pool] - t["b"][pool]) @ heads.weight.T  # (P, K): each head's r_a − r_b
    if queue == "margin":
        order = np.argsort(np.abs(deltas.mean(axis=1)), kind="stable")
    else:
        order = np.argsort(-deltas.std(axis=1), kind="stable")
    return pool[order[:k]]


def simulate(t: dict, queue: str, seed: int, args) -> list[float]:
    rng = np.random.default_rng(seed)
    labelled = rng.choice(len(t["a"]), size=args.seed_size, replace=False)
    members = args.members if queue == "spread" else 1
    curve = []
    for round_ in range(args.rounds + 1):
        heads = fit(t, labelled, members, seed)
        curve.append(accuracy(t, heads))
        if round_ == args.rounds:
            break
        pool = np.setdiff1d(np.arange(len(t["a"])), labelled)
        labelled = np.concatenate([labelled, pick(t, queue, heads, pool, args.per_round, rng)])
    return curve


def area(curve) -> float:
    return float(np.trapezoid(curve) / (len(curve) - 1))


def summarize(t: dict, args) -> dict:
    curves = {q: np.array([simulate(t, q, s, args) for s in range(args.seeds)]) for q in QUEUES}
    areas = {q: np.array([area(c) for c in curves[q]]) for q in QUEUES}
    out = {
        "task": t["name"],
        "labels": [args.seed_size + r * args.per_round for r in range(args.rounds + 1)],
        "queues": {},
    }
    for q in QUEUES:
        entry = {
            "mean": curves[q].mean(axis=0).tolist(),
            "sd": curves[q].std(axis=0, ddof=1).tolist(),
            "area_mean": float(areas[q].mean()),
            "area_sd": float(areas[q].std(ddof=1)),
        }
        if q != "random":
            diff = areas[q] - areas["random"]
            half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
            entry["area_minus_random"] = [
                float(diff.mean() - half),
                float(diff.mean()),
                float(diff.mean() + half),
            ]
        out["queues"][q] = entry
    return out


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4))
    for ax, result in zip(np.atleast_1d(axes), results):
        x = result["labels"]
        for q, entry in result["queues"].items():
            mean, sd = np.array(entry["mean"]), np.array(entry["sd"])
            ax.plot(x, mean, label=q)
            ax.fill_between(x, mean - sd, mean + sd, alpha=0.15)
        truth = "gold" if result["task"] == "world" else "labels"
        ax.set(title=result["task"], xlabel="labelled pairs", ylabel=f"eval accuracy vs {truth}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--seed-size", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--world-train", type=int, default=1000)
    parser.add_argument("--world-eval", type=int, default=400)
    parser.add_argument("--out", default="bench-out/active_learning")
    args = parser.parse_args()
    started = time.perf_counter()
    tasks = [
        hh_task(args.max_length),
        world_task(args.max_length, args.world_train, args.world_eval),
    ]
    results = [summarize(t, args) for t in tasks]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(results, out / "curves.png")
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"{today()} · {machine()} · {time.perf_counter() - started:.0f} s")
    for result in results:
        print(
            f"\n{result['task']}: labels {result['labels'][0]}..{result['labels'][-1]}, "
            f"{args.seeds} seeds"
        )
        for q, e in result["queues"].items():
            vs = e.get("area_minus_random")
            tail = f"; area − random {vs[1]:+.4f} [{vs[0]:+.4f}, {vs[2]:+.4f}]" if vs else ""
            print(
                f"  {q:7s} start {e['mean'][0]:.3f} end {e['mean'][-1]:.3f} ± {e['sd'][-1]:.3f}; "
                f"area {e['area_mean']:.4f} ± {e['area_sd']:.4f}{tail}"
            )
    print(f"\ncurves: {out / 'curves.png'}")


if __name__ == "__main__":
    main()
