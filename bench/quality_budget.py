"""Accuracy for the time (issue 15, item 1): rewardkit recipes within TRL's one-epoch time.

Step 1, the anchor: TRL's ``RewardTrainer``, one epoch, MiniLM, batch 16, lr 1e-4,
max_length 512 (``bench/trl_run.py``), in its faster precision here:
``--trl-precision auto`` measures the fp32 and bf16 matmul peaks in this run
(``common.matmul_peak``) and takes the faster (bf16 on a GPU). Timed end to end as a whole
process, from a file of its records (the texts rewardkit scores) to the saved model, with a
fresh datasets cache; once on the canonical train split (the headline) and once on the
validation's training part (the budget of step 2).

Step 2, recipes chosen on validation: the canonical train pairs are cut into 5
prompt-disjoint folds (``rewardkit.data.splits.fold_assignments``, seed 0); fold 0 is the
validation split. Each recipe (``bench/budget_recipes.py``: a named set of ``rewardkit
train`` options) runs ``python -m rewardkit train`` on the other folds, per seed, with a fresh
empty ``REWARDKIT_CACHE`` (cold token and feature caches); its wall time is the whole process
(WARM: plus ``rewardkit merge``). rewardkit's process also evaluates its held-out pairs at the
end (TRL's does not), which counts against it. ``--no-proxy-eval`` unless ``--proxy-eval``:
TRL computes no OOD statistics. Every model (and TRL's) is then scored, untimed, by the one
scorer in fp32 (``train_vs_trl.evaluate``). Each run is judged by its wall time over TRL's on
the same pairs timed in the same stretch of the run (``bench/budget_anchor.py``: a resumed run
times TRL again first when it has a run to train, as the machine's speed drifts between
stretches; a WARM merge of stored members, about a minute, takes its members' anchor); a
recipe whose mean ratio exceeds 1 is over budget and not eligible; the chosen recipe is the
eligible one with the best mean validation accuracy.

Step 3, the eval split, used once: the chosen recipe and the default, each over the seeds,
trained on all train pairs and scored on all eval pairs (438 on hh-rlhf), with a paired
bootstrap interval of their accuracy difference (``rewardkit.eval.pairwise.paired_bootstrap``
over the pairs, each pair's correctness averaged over the seeds); TRL's model beside them.

Resumable: each (recipe, seed, split) result is stored in ``OUT/results/`` as soon as it is
scored (with its stretch, commit and ratio to that stretch's TRL time) and skipped when the
script runs again; ``OUT/results.json`` gathers everything.

    python bench/quality_budget.py --out runs/quality-budget          # hours, alone on the machine
    python bench/quality_budget.py --out runs/quality-budget --recipes default,epochs2 --seeds 3
    python bench/quality_budget.py --tiny                              # smoke test, tiny BERT
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rewardkit.cli_support import quiet_libraries  # noqa: E402

quiet_libraries()  # before transformers is imported: it reads its progress-bar setting then
from budget_anchor import (  # noqa: E402
    STEPS,
    RunFailed,
    cold_env,
    new_stretch,
    score_trl,
    stretch_anchor,
    timed,
    trl_run,
    trl_worker,
)
from budget_recipes import SMOLLM2, Recipe, recipes, select  # noqa: E402
from budget_report import (  # noqa: E402
    budget_ratio,
    over_budget,
    print_eval,
    print_preset,
    print_validation,
    summarize,
    trains_more,
)
from common import HH_TEST, commit, machine, matmul_peak, today, training_workspace  # noqa: E402
from rewardkit.config import option_flags  # noqa: E402
from rewardkit.data import (  # noqa: E402
    pairs_to_jsonl,
    prompt_hash,
    read_pairs,
    split_by_prompt,
)
from rewardkit.data.splits import fold_assignments  # noqa: E402
from rewardkit.files import write_json_atomic  # noqa: E402
from rewardkit.formatting import percent  # noqa: E402
from rewardkit.model.backbone import resolve_backbone  # noqa: E402
from train_vs_trl import evaluate  # noqa: E402

SETTINGS = (
    "data",
    "backbone",
    "max_length",
    "max_steps",
    "batch_size",
    "lr",
    "folds",
    "proxy_eval",
    "tiny",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", help="work folder (default runs/quality-budget; --tiny: a temp)")
    parser.add_argument("--data", default=str(HH_TEST / "test.jsonl.gz"))
    parser.add_argument("--backbone", default=None, help="default: all-MiniLM-L6-v2")
    parser.add_argument("--recipes", default="", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0…N-1 per recipe")
    parser.add_argument("--trl-precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--folds", type=int, default=5, help="validation = 1 of N train folds")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4, help="TRL's learning rate")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--max-steps", type=int, default=None, help="cap every run (smoke)")
    parser.add_argument("--proxy-eval", action="store_true", help="time OOD statistics too")
    parser.add_argument(
        "--stop-over",
        type=float,
        default=1.25,
        help="skip a recipe's other seeds once one run takes over this × the budget",
    )
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--keep-models", action="store_true", help="keep validation models")
    parser.add_argument("--tiny", action="store_true", help="smoke test: tiny BERT, few steps")
    parser.add_argument("--trl-worker", help=argparse.SUPPRESS)  # one TRL run (a spec file)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.trl_worker:
        return trl_worker(Path(args.trl_worker))
    try:  # the names, before anything is loaded
        names = [r.name for r in select(recipes("fp32", None), args.recipes)]
    except ValueError as err:
        fail(str(err))
    work = prepare(args)
    data = split_data(args, work)
    precision = decide_precision(args, work)
    smollm2 = smollm2_problem(args) if "smollm2-frozen" in names else "not selected"
    table = recipes(precision["precision"], smollm2)
    selected = select(table, args.recipes)
    ctx = SimpleNamespace(
        args=args,
        work=work,
        data=data,
        precision=precision,
        selected=selected,
        stretch=new_stretch(),
        anchor_s={},
    )
    print(
        f"machine: {machine()}\ndate: {today()}\ncommit: {commit()}\ndata: {args.data}\n"
        f"canonical split: {len(data['train'])} train / {len(data['eval'])} eval pairs; "
        f"validation: fold 0 of {args.folds} prompt-disjoint folds of the train pairs: "
        f"{len(data['fit'])} fit / {len(data['validation'])} validation\nout: {work}\n",
        flush=True,
    )
    print(f"step 1 — TRL RewardTrainer, one epoch, {precision['line']}", flush=True)
    try:
        trl = {step: trl_run(ctx, step) for step in ("eval", "validation")}
    except RunFailed as err:  # no anchor, no budget: nothing else can be judged
        sys.exit(f"error: TRL's run failed, {err}")
    ctx.trl = trl
    for recipe in selected:
        if recipe.skip:
            print(f"{recipe.name}: skipped — {recipe.skip}", flush=True)
    print(f"\nstep 2 — recipes on validation ({args.seeds} seeds)", flush=True)
    runnable = [r for r in selected if not r.skip]
    budget = trl["validation"]["wall_s"]
    anchor(ctx, "validation", trl["validation"], runnable, budget)
    for recipe in runnable:
        run_seeds(ctx, recipe, "validation", budget=budget)
    rows = summarize(ctx, selected, "validation", trl["validation"])
    chosen = print_validation(ctx, rows, trl["validation"])
    write_results(ctx, trl, rows, None)
    print("\nstep 3 — the eval split, once: the chosen recipe and the default", flush=True)
    finalists = [r for r in selected if r.name in {"default", chosen}]
    anchor(ctx, "eval", trl["eval"], finalists, None)
    for recipe in finalists:
        run_seeds(ctx, recipe, "eval", budget=None)
    trl["eval"] = score_trl(ctx, "eval")
    final = print_eval(ctx, summarize(ctx, finalists, "eval", trl["eval"]), chosen, trl["eval"])
    final["preset"] = print_preset(ctx, {r.name: r for r in table}, rows, final)
    write_results(ctx, trl, rows, final)
    print(f"results: {work / 'results.json'}")


def anchor(ctx, step: str, first: dict, recipes_: list[Recipe], budget: float | None) -> None:
    """This stretch's TRL time on ``step`` (``budget_anchor``) into ``ctx.anchor_s``, timed
    when any of the recipes still has a run to train (``trains_more``, ``run_seeds``'s rule
    with the same ``budget``; a WARM merge of stored members is about a minute: it is judged
    by its members' anchor, see :func:`run_once`)."""
    pending = any(trains_more(ctx, recipe, step, budget) for recipe in recipes_)
    try:
        ctx.anchor_s[step] = stretch_anchor(ctx, step, first, pending)
    except RunFailed as err:  # no anchor: no run of this stretch could be judged
        sys.exit(f"error: TRL's anchor run of this stretch failed, {err}")


def prepare(args) -> Path:
    """The work folder; with ``--tiny`` a tiny BERT, demo-world pairs and 2 steps a run."""
    if args.tiny:
        work = training_workspace(args, "rk-bench-qbudget")  # tiny BERT + world pairs
        args.max_steps = args.max_steps or 2
        args.seeds = min(args.seeds, 1)  # each run is a process: imports dominate
        args.recipes = args.recipes or "default,warm2,adaptive-margin"
    else:
        work = Path(args.out or "runs/quality-budget")
    work.mkdir(parents=True, exist_ok=True)
    args.backbone = resolve_backbone(args.backbone)
    settings = {name: getattr(args, name) for name in SETTINGS}
    check_same(work / "results" / "settings.json", settings, "settings", SETTINGS)
    return work


def fail(message: str) -> None:
    """Bad input: one line on stderr, exit 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def check_same(path: Path, value: dict, what: str, keys) -> dict:
    """``value``, stored in ``path`` by the first run; a resumed run must agree with it on
    ``keys``."""
    if path.is_file():
        stored = json.loads(path.read_text())
        differ = [k for k in keys if stored.get(k) != value[k]]
        if differ:
            fail(
                f"{path.parent.parent} was started with other {what} ("
                + ", ".join(f"{k}: {stored.get(k)!r} ≠ {value[k]!r}" for k in differ)
                + "); rerun with those, or pass another --out"
            )
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, value)
    return value


def split_data(args, work: Path) -> dict[str, list]:
    """The canonical split, and its train pairs cut into fit / validation by prompt; each
    written to ``OUT/data/NAME.jsonl`` (what the training processes read)."""
    import numpy as np

    pairs, _ = read_pairs(args.data)
    train, eval_pairs = split_by_prompt(pairs, 0.2)
    groups = [prompt_hash(p.prompt) for p in train]
    folds = fold_assignments(len(train), args.folds, np.random.default_rng(0), groups=groups)
    data = {
        "train": train,
        "eval": eval_pairs,
        "fit": [p for p, fold in zip(train, folds) if fold != 0],
        "validation": [p for p, fold in zip(train, folds) if fold == 0],
    }
    for name, part in data.items():
        pairs_to_jsonl(work / "data" / f"{name}.jsonl", part)
    return data


def decide_precision(args, work: Path) -> dict:
    """TRL's faster precision (and every recipe's but ``default``): measured once, stored,
    and kept by a resumed run."""
    path = work / "results" / "precision.json"
    if path.is_file() and args.trl_precision == "auto":
        decided = json.loads(path.read_text())
        decided["line"] += " (decided by the first run of this folder)"
        return decided
    if args.trl_precision != "auto" or args.tiny:
        decided = {"precision": "fp32" if args.trl_precision == "auto" else args.trl_precision}
        why = "chosen with --trl-precision" if args.trl_precision != "auto" else "--tiny"
        decided["peaks_gflops"] = None
    elif _cuda():
        decided, why = {"precision": "bf16", "peaks_gflops": None}, "a CUDA GPU"
    else:
        import torch

        peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
        fast = "bf16" if peaks["bf16"] > peaks["fp32"] else "fp32"
        decided = {"precision": fast, "peaks_gflops": peaks}
        why = (
            f"measured matmul peak bf16 {peaks['bf16']:.0f} vs fp32 {peaks['fp32']:.0f} "
            "GFLOP/s in this run: the faster one"
        )
    decided["line"] = f"{decided['precision']}: {why}"
    return check_same(path, decided, "precision", ("precision",))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def smollm2_problem(args) -> str | None:
    """Why the SmolLM2 recipe cannot run here (None: it can); resolves its folder."""
    if args.tiny:
        return "--tiny (no SmolLM2 in the smoke test)"
    try:
        from rewardkit.candidates.smollm2 import smollm2_folder

        args.smollm2 = str(smollm2_folder())
    except Exception as err:  # a missing package is a UserError; anything else is reported
        return f"SmolLM2 does not load here: {err}"
    return None


def result_path(work: Path, step: str, recipe: str, seed: int) -> Path:
    return work / "results" / step / recipe / f"seed{seed}.json"


def model_path(work: Path, step: str, recipe: str, seed: int) -> Path:
    return work / "models" / step / recipe / f"seed{seed}"


def run_seeds(ctx, recipe: Recipe, step: str, budget: float | None) -> None:
    """The recipe's runs on ``step``, seed by seed; when ``budget`` (the first TRL time) is
    given, the other seeds are skipped once a run is :func:`over_budget`."""
    for seed in range(ctx.args.seeds):
        try:
            result = run_once(ctx, recipe, step, seed)
        except RunFailed as err:
            print(f"{step} · {recipe.name} · seed {seed}: failed, {err}", flush=True)
            continue
        if over_budget(ctx, result, budget):
            print(
                f"{step} · {recipe.name}: {budget_ratio(result, budget):.2f}× TRL's time > "
                f"{ctx.args.stop_over} — its other seeds are skipped",
                flush=True,
            )
            break
    if step == "validation" and not ctx.args.keep_models:
        _clean_models(ctx, recipe)


def run_once(ctx, recipe: Recipe, step: str, seed: int) -> dict:
    """Train (or merge), score, store — or read the stored result."""
    path = result_path(ctx.work, step, recipe.name, seed)
    label = f"{step} · {recipe.name} · seed {seed}"
    if path.is_file():
        result = json.loads(path.read_text())
        print(f"{label}: already done ({result['wall_s']:.0f} s)", flush=True)
        return result
    out = model_path(ctx.work, step, recipe.name, seed)
    shutil.rmtree(out, ignore_errors=True)
    anchor_s = ctx.anchor_s.get(step)
    if recipe.merge_of:
        members, merge_s = _merge(ctx, recipe, step, seed, out)
        wall = members["wall_s"] + merge_s
        first = ctx.trl[step]["wall_s"]
        anchor_s = anchor_s or members.get("anchor_s") or first  # no anchor: merges only
        ratio = budget_ratio(members, first) + merge_s / anchor_s
    else:
        wall = _train(ctx, recipe, step, seed, out)
        ratio = wall / anchor_s if anchor_s else None
    scored_name = STEPS[step][1]
    result = {"recipe": recipe.name, "seed": seed, "step": step, "wall_s": wall}
    result.update(stretch=ctx.stretch, anchor_s=anchor_s)
    if ratio is not None:
        result["budget_ratio"] = ratio
    result.update(evaluate(out, ctx.data[scored_name], ctx.args.max_length, per_pair=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, result)
    ratio = "" if ratio is None else f" ({ratio:.2f}× TRL's time)"
    print(f"{label}: {wall:.0f} s{ratio}, accuracy {percent(result['accuracy_all'])}", flush=True)
    return result


def train_command(ctx, recipe: Recipe, step: str, seed: int, out: Path) -> list[str]:
    """``python -m rewardkit train`` with the recipe's options and the bench's own."""
    args, (train_name, scored_name) = ctx.args, STEPS[step]
    options = dict(recipe.options)
    if options.get("backbone") == SMOLLM2:
        options["backbone"] = args.smollm2
    options.setdefault("backbone", args.backbone)
    bench = {"seed": seed, "max_length": args.max_length, "proxy_eval": args.proxy_eval}
    if args.max_steps:
        bench["max_steps"] = args.max_steps
    data = ctx.work / "data"
    return [
        *(sys.executable, "-m", "rewardkit", "train"),
        *("--data", str(data / f"{train_name}.jsonl")),
        *("--eval-data", str(data / f"{scored_name}.jsonl"), "--out", str(out)),
        *option_flags({**options, **bench}),
    ]


def _train(ctx, recipe: Recipe, step: str, seed: int, out: Path) -> float:
    env, cache = cold_env(ctx.work)
    log = ctx.work / "logs" / step / recipe.name / f"seed{seed}.log"
    try:
        return timed(train_command(ctx, recipe, step, seed, out), log, env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _merge(ctx, recipe: Recipe, step: str, seed: int, out: Path) -> tuple[dict, float]:
    """WARM: the members run (stored) and the wall seconds of ``rewardkit merge`` of its
    members."""
    members = run_once(ctx, _by_name(ctx, recipe.merge_of), step, seed)
    folder = model_path(ctx.work, step, recipe.merge_of, seed)
    if not (folder / "ensemble.json").is_file():
        raise RunFailed(f"{folder}: the members are gone (run with --keep-models)")
    names = sorted(p.name for p in folder.glob("member-*"))
    log = ctx.work / "logs" / step / recipe.name / f"seed{seed}.log"
    command = [sys.executable, "-m", "rewardkit", "merge", *(str(folder / n) for n in names)]
    env, cache = cold_env(ctx.work)
    try:
        return members, timed([*command, "--out", str(out)], log, env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _by_name(ctx, name: str) -> Recipe:
    return next(r for r in ctx.selected if r.name == name)


def _clean_models(ctx, recipe: Recipe) -> None:
    """Validation models are scored and stored: remove them, except members a WARM recipe
    still merges (removed with it)."""
    merged_later = {r.merge_of for r in ctx.selected}
    names = [] if recipe.name in merged_later else [recipe.name]
    if recipe.merge_of:
        names.append(recipe.merge_of)
    for name in names:
        shutil.rmtree(ctx.work / "models" / "validation" / name, ignore_errors=True)


def write_results(ctx, trl: dict, rows: list[dict], final: dict | None) -> None:
    strip = lambda d: {k: v for k, v in d.items() if k != "correct"}  # noqa: E731
    write_json_atomic(
        ctx.work / "results.json",
        {
            "machine": machine(),
            "date": today(),
            "commit": commit(),
            "data": ctx.args.data,
            "seeds": ctx.args.seeds,
            "precision": ctx.precision,
            "split": {name: len(part) for name, part in ctx.data.items()},
            "trl": {step: strip(result) for step, result in trl.items()},
            "validation": rows,
            "eval": final,
        },
    )


if __name__ == "__main__":
    main()
