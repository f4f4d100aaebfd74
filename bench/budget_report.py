"""What ``bench/quality_budget.py`` prints and stores: per-recipe summaries over seeds, the
choice on validation, the eval comparison with its paired interval, and the preset entry."""

from __future__ import annotations

import json
import statistics

from common import commit, machine, today
from rewardkit.config import option_flags
from rewardkit.eval.pairwise import paired_bootstrap
from rewardkit.formatting import percent

TARGET = 0.64  # issue 15: mean eval accuracy over 3 seeds, within TRL's one-epoch time


def budget_ratio(run: dict, first_anchor_s: float) -> float:
    """A stored run's wall time over TRL's in its stretch (``bench/budget_anchor.py``); runs
    stored before the anchors existed: over the first TRL run's."""
    return run.get("budget_ratio", run["wall_s"] / first_anchor_s)


def stored_runs(ctx, recipe: str, step: str) -> list[dict]:
    """The recipe's stored results on ``step``, by seed."""
    folder = ctx.work / "results" / step / recipe
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("seed*.json"))]
    return [r for r in sorted(runs, key=lambda r: r["seed"]) if r["seed"] < ctx.args.seeds]


def over_budget(ctx, run: dict, budget: float | None) -> bool:
    """The stop-over rule: a run that took over ``--stop-over`` × TRL's time (``budget``: the
    first TRL run's seconds) ends its recipe's seeds on that step."""
    return bool(budget) and budget_ratio(run, budget) > ctx.args.stop_over


def trains_more(ctx, recipe, step: str, budget: float | None) -> bool:
    """Whether ``run_seeds`` would still train a run of the recipe on ``step`` (a WARM merge:
    its members), by its own rule: seeds in order, a seed with no stored result trains
    (a merge whose members are stored only merges), and after a stored run
    :func:`over_budget` the later seeds are skipped — so an over-budget recipe's missing seeds
    are not work left."""
    stored = {run["seed"]: run for run in stored_runs(ctx, recipe.name, step)}
    members = {}
    if recipe.merge_of:  # the merge's time is its members' plus its own: at least theirs
        members = {run["seed"]: run for run in stored_runs(ctx, recipe.merge_of, step)}
    for seed in range(ctx.args.seeds):
        run = stored.get(seed, members.get(seed))
        if run is None:
            return True
        if over_budget(ctx, run, budget):
            return False
    return False


def summarize(ctx, recipes, step: str, trl: dict) -> list[dict]:
    """One row per recipe: options, wall time and accuracy over the seeds done, and whether
    it is eligible (every seed done, mean ratio of wall time to TRL's on the same pairs in
    the same stretch at most 1: ``budget_anchor``)."""
    rows = []
    for recipe in recipes:
        runs = stored_runs(ctx, recipe.name, step)
        accuracy = [r["accuracy_all"] for r in runs]
        wall = [r["wall_s"] for r in runs]
        ratios = [budget_ratio(r, trl["wall_s"]) for r in runs]
        row = {
            "recipe": recipe.name,
            "about": recipe.about,
            "options": recipe.options,
            "flags": " ".join(option_flags(recipe.options)) or "(none)",
            "merge_of": recipe.merge_of,
            "skipped": recipe.skip,
            "seeds_done": len(runs),
            "wall_s": wall,
            "wall_s_mean": statistics.mean(wall) if wall else None,
            "budget_s": trl["wall_s"],
            "anchors_s": [r.get("anchor_s") or trl["wall_s"] for r in runs],
            "budget_ratio": ratios,
            "budget_ratio_mean": statistics.mean(ratios) if ratios else None,
            "accuracy": accuracy,
            "accuracy_mean": statistics.mean(accuracy) if accuracy else None,
            "accuracy_sd": statistics.stdev(accuracy) if len(accuracy) > 1 else None,
            "n_scored": runs[0]["n_all"] if runs else None,
        }
        row["within_budget"] = bool(ratios) and row["budget_ratio_mean"] <= 1
        row["eligible"] = row["within_budget"] and len(runs) == ctx.args.seeds
        rows.append(row)
    return rows


def _mean_sd(row: dict) -> str:
    if row["accuracy_mean"] is None:
        return "–"
    sd = "" if row["accuracy_sd"] is None else f" ± {100 * row['accuracy_sd']:.1f}"
    return f"{percent(row['accuracy_mean'])}{sd}"


def _status(row: dict, seeds: int) -> str:
    if row["skipped"]:
        return f"not run: {row['skipped']}"
    if not row["seeds_done"]:
        return "no run finished"
    if not row["within_budget"]:
        return "**over budget**"
    return "eligible" if row["eligible"] else f"{row['seeds_done']} of {seeds} seeds"


def print_table(rows: list[dict], trl: dict, seeds: int, scored: str) -> None:
    print(
        f"\n| recipe | options | wall s (mean) | × TRL's time (same stretch) | {scored} accuracy "
        "(mean ± sd over seeds) | per seed | status |\n|---|---|---|---|---|---|---|"
    )
    print(
        f"| TRL RewardTrainer, 1 epoch (anchor, seed 0) | {trl['precision']} | "
        f"{trl['wall_s']:.0f} | 1.00× | {percent(trl.get('accuracy_all'))} | | budget |"
    )
    for row in rows:
        wall, ratio = row["wall_s_mean"], row["budget_ratio_mean"]
        ratio = "–" if ratio is None else f"{ratio:.2f}×"
        flags = f"merge of {row['merge_of']}" if row["merge_of"] else f"`{row['flags']}`"
        print(
            f"| {row['recipe']} | {flags} | {'–' if wall is None else f'{wall:.0f}'} | {ratio} "
            f"| {_mean_sd(row)} | {', '.join(percent(a) for a in row['accuracy'])} "
            f"| {_status(row, seeds)} |"
        )


def print_validation(ctx, rows: list[dict], trl: dict) -> str | None:
    """The validation table and the chosen recipe: the best mean validation accuracy among
    the eligible ones (None when none is)."""
    print_table(rows, trl, ctx.args.seeds, f"validation ({rows[0]['n_scored'] or '?'} pairs)")
    eligible = [r for r in rows if r["eligible"]]
    best = max(eligible, key=lambda r: r["accuracy_mean"], default=None)
    if best is None:
        print("\nno recipe finished every seed within TRL's time: nothing to choose")
        return None
    print(
        f"\nchosen on validation: {best['recipe']} ({_mean_sd(best)}, {best['wall_s_mean']:.0f} s, "
        f"{best['budget_ratio_mean']:.2f}× TRL's time on the same {len(ctx.data['fit'])} pairs)"
    )
    return best["recipe"]


def paired_difference(ctx, base: str, other: str, step: str) -> dict:
    """``other − base`` accuracy with a paired bootstrap 95% interval over the scored pairs,
    each pair's correctness averaged over the seeds (seed noise is in the spread, not here)."""
    import numpy as np

    def per_pair(recipe):
        runs = stored_runs(ctx, recipe, step)
        table = np.array([[np.nan if c is None else float(c) for c in r["correct"]] for r in runs])
        return table.mean(axis=0)

    a, b = per_pair(base), per_pair(other)
    keep = ~(np.isnan(a) | np.isnan(b))
    diff, lo, hi = paired_bootstrap(a[keep], b[keep], ctx.args.n_boot, seed=0)
    return {"of": [other, base], "difference": diff, "ci95": [lo, hi], "n_pairs": int(keep.sum())}


def print_eval(ctx, rows: list[dict], chosen: str | None, trl: dict) -> dict:
    """The eval table, the paired interval of chosen − default and the issue's target."""
    print_table(rows, trl, ctx.args.seeds, f"eval ({rows[0]['n_scored'] or '?'} pairs)")
    final = {"rows": rows, "chosen": chosen, "difference": None}
    by_name = {r["recipe"]: r for r in rows}
    if chosen and chosen != "default" and by_name[chosen]["seeds_done"]:
        d = final["difference"] = paired_difference(ctx, "default", chosen, "eval")
        lo, hi = (100 * v for v in d["ci95"])
        print(
            f"\n{chosen} − default: {100 * d['difference']:+.1f} points (paired bootstrap 95% "
            f"interval {lo:+.1f} … {hi:+.1f}, {d['n_pairs']} pairs, each pair's correctness "
            f"averaged over the seeds)"
        )
    best = by_name.get(chosen or "default")
    met = bool(
        best
        and best["accuracy_mean"] is not None
        and best["accuracy_mean"] >= TARGET
        and best["within_budget"]
    )
    final["target"] = {"accuracy": TARGET, "met": met}
    print(
        f"target ≥ {percent(TARGET)} mean eval accuracy within TRL's one-epoch time "
        f"({trl['wall_s']:.0f} s): {'met' if met else 'not met'} by "
        f"{best['recipe'] if best else '–'} ({_mean_sd(best) if best else '–'})"
    )
    return final


def print_preset(ctx, table: dict, validation: list[dict], final: dict) -> dict | None:
    """The ``PRESETS`` entry of src/rewardkit/train/presets.py the chosen recipe would be."""
    chosen = final["chosen"]
    ev = {r["recipe"]: r for r in final["rows"]}
    if chosen is None:
        print("\npreset: no recipe was eligible on validation: no preset to add")
        return None
    if chosen == "default":
        print("\npreset: the default is the best eligible recipe: keep `--preset default`")
        return None
    if not ev[chosen]["seeds_done"]:
        print(f"\npreset: no eval run of {chosen} finished: rerun to complete step 3")
        return None
    recipe = table[chosen]
    options = dict(table[recipe.merge_of].options if recipe.merge_of else recipe.options)
    notes = []
    if recipe.merge_of:
        notes.append(
            "WARM runs `rewardkit merge` on the members after training: a preset "
            "cannot express it (the entry is the members' options)"
        )
    if options.get("backbone") == "smollm2":
        notes.append("`--backbone smollm2` is not an alias rewardkit train resolves yet")
    val = next(r for r in validation if r["recipe"] == chosen)
    d = final["difference"]
    if not ev[chosen]["within_budget"]:
        notes.append(
            f"on all train pairs it took {ev[chosen]['budget_ratio_mean']:.2f}× TRL's time: "
            "not a budget recipe there"
        )
    if d is None or d["ci95"][0] <= 0:
        notes.append(
            "its eval accuracy is not above the default's by an interval excluding 0: "
            "keeping `default` is as well supported"
        )
    description = (
        f"Chosen by bench/quality_budget.py (commit {commit()}, {today()}, {machine()}): "
        f"validation accuracy {_mean_sd(val)} over {val['seeds_done']} seed(s); eval accuracy "
        f"{_mean_sd(ev[chosen])} vs the default's {_mean_sd(ev['default'])}"
        + (
            f" (paired difference {100 * d['difference']:+.1f} points, 95% CI "
            f"{100 * d['ci95'][0]:+.1f} to {100 * d['ci95'][1]:+.1f})"
            if d
            else ""
        )
        + f"; {ev[chosen]['budget_ratio_mean']:.2f}× the time of TRL's one epoch "
        f"({ctx.precision['precision']}). BENCHMARKS.md 'Accuracy for the time'."
    )
    print("\npreset: paste into PRESETS in src/rewardkit/train/presets.py:\n")
    print(f'    "budget": Preset(\n        options={options!r},\n        description=(')
    print(f"            {description!r}\n        ),\n    ),")
    for note in notes:
        print(f"note: {note}")
    return {"name": "budget", "options": options, "description": description, "notes": notes}
