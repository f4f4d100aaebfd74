"""Uncertainty that predicts errors (issue 15, item 3): every measure on the same eval pairs.

On the canonical hh-rlhf harmless split (``split_by_prompt(pairs, 0.2)``: 1,874 train / 438
eval pairs) this trains, each step skipped when its folder is already complete (so a killed
run resumes):

==========================  ==================================================================
folder                      ``rewardkit train`` options (all: 1 epoch, max length 512)
==========================  ==================================================================
minilm-s{j}                 ``--seed j`` (MiniLM, the default backbone); j = 0…SEEDS−1 — the
                            members ``--ensemble SEEDS --ensemble-mode members`` trains, one
                            run each so that the bench resumes member by member
minilm-heads{K}             ``--backbone OUT/minilm-s0 --freeze-backbone --ensemble K``: K
                            bootstrap heads on the seed-0 fine-tune's features — what
                            ``--ensemble K`` does after its fine-tune, without fine-tuning
                            again
smollm2-frozen-heads{K}     ``--backbone SMOLLM2 --freeze-backbone --ensemble K``: SmolLM2-135M
                            is too slow to fine-tune on a 2-core CPU, so its member is the
                            tool's frozen-feature path (K bootstrap heads, saved head = mean)
==========================  ==================================================================

then scores the eval pairs once per model through the one loader and scorer (a shared forward
cache, so a model in several systems runs once) and judges each system with
:func:`rewardkit.eval.proxy.evaluate_proxy`:

* ``single``: MiniLM seed 0 — the margin (the reference) and MC dropout
  (``Scorer.mc_dropout_deltas``, T passes; dropout p from the backbone, 0.1);
* ``heads``: the K bootstrap heads' spread;
* ``seeds2`` / ``seeds3``: MiniLM members fine-tuned with different seeds;
* ``smollm2``: the bootstrap heads on frozen SmolLM2 features;
* ``mixed2`` / ``mixed3``: members with different pretrained backbones (MiniLM seed 0 [and 1] +
  SmolLM2; Eisenstein et al. 2023, arXiv 2312.09244, found that members sharing a pretrained
  backbone share errors) — members folders (``ensemble.json`` listing ``../minilm-s0`` …) that
  ``rewardkit eval --model OUT/mixed2`` loads too: the members format allows different
  backbones (each member is encoded with its own tokenizer and template).

For every measure: error AUROC, AURC and accuracy at 50% / 80% coverage, each with a paired
bootstrap 95% interval (:mod:`rewardkit.eval.selective_bootstrap`: the same resampled pairs
for both) of its difference to **the same system's margin** (same ranking, same errors: does
this measure order them better?), and, in the JSON and a second table, to the single model's
margin. Prints markdown tables and writes ``OUT/uncertainty.json``.

    nice -n 19 python bench/uncertainty.py --out /work/runs/uncertainty
    python bench/uncertainty.py --tiny     # smoke test: tiny random BERT and Llama, few pairs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HH_TEST, commit, machine, pct, today, training_workspace  # noqa: E402
from rewardkit.cli_support import quiet_libraries  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.eval.proxy import ProxyOptions, evaluate_proxy  # noqa: E402
from rewardkit.eval.selective_bootstrap import FIGURES, paired_bootstrap  # noqa: E402
from rewardkit.files import write_json_atomic  # noqa: E402
from rewardkit.model.ensemble import write_members_manifest  # noqa: E402
from rewardkit.model.forward_cache import CachedForward  # noqa: E402
from rewardkit.model.inference import forward_sequences  # noqa: E402
from rewardkit.model.loading import load_reward_model  # noqa: E402
from rewardkit.model.mc_dropout import MCDropout  # noqa: E402
from rewardkit.model.scorer import Scorer  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402

TARGET_AUROC = 0.70  # issue 15's target for the best measure


@dataclass
class System:
    """Models (folders under OUT) judged together: members, or one model (with its heads)."""

    name: str
    description: str
    folders: list[str]
    mc_dropout: bool = False
    members_folder: bool = False  # also written as OUT/NAME/ensemble.json
    rows: list[dict] = field(default_factory=list)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", help="work folder (models, scores, uncertainty.json)")
    parser.add_argument("--data", default=str(HH_TEST / "test.jsonl.gz"))
    parser.add_argument("--seeds", type=int, default=3, help="MiniLM members (seeds 0…)")
    parser.add_argument("--heads", type=int, default=5, help="bootstrap heads per model")
    parser.add_argument("--mc-passes", type=int, default=10, help="MC dropout passes T")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--no-smollm2", action="store_true", help="skip the SmolLM2 member")
    parser.add_argument("--tiny", action="store_true", help="smoke test: tiny random models")
    args = parser.parse_args()
    args.backbone, args.second_backbone, args.quick = None, None, {}
    return args


def training_steps(work: Path, args) -> list[tuple[str, dict]]:
    """``(folder, TrainConfig options)`` in the order they run (most informative first)."""
    seeds = [(f"minilm-s{j}", {"seed": j}) for j in range(args.seeds)]
    # `--ensemble K` = the seed-0 fine-tune, then K bootstrap heads on its features: the
    # frozen-feature path on minilm-s0 fits the same heads without fine-tuning again
    heads = (
        f"minilm-heads{args.heads}",
        {"backbone": str(work / "minilm-s0"), "freeze_backbone": True, "ensemble": args.heads},
    )
    smollm2 = (
        f"smollm2-frozen-heads{args.heads}",
        {"backbone": args.second_backbone, "freeze_backbone": True, "ensemble": args.heads},
    )
    steps = seeds[:1] + [heads] + seeds[1:2]
    steps += [] if args.no_smollm2 else [smollm2]
    return steps + seeds[2:]


def run_training(work: Path, args) -> dict:
    seconds = {}
    for folder, options in training_steps(work, args):
        out = work / folder
        if (out / "metrics.json").is_file() and (out / "config.json").is_file():
            print(f"{folder}: already trained", flush=True)
            continue
        options = {"backbone": args.backbone, **options}
        config = TrainConfig(
            data=args.data,
            out=str(out),
            epochs=1,
            max_length=args.max_length,
            **args.quick,
            **options,
        )
        started = time.perf_counter()
        result = train(config, quiet=True, progress=False)
        seconds[folder] = time.perf_counter() - started
        print(
            f"{folder}: trained in {seconds[folder]:.0f} s, eval accuracy "
            f"{pct(result.metrics.get('accuracy'))}",
            flush=True,
        )
    return seconds


def systems_for(args) -> list[System]:
    s = [f"minilm-s{j}" for j in range(args.seeds)]
    heads, smol = f"minilm-heads{args.heads}", f"smollm2-frozen-heads{args.heads}"
    out = [
        System("single", "MiniLM, seed 0 (one model)", s[:1], mc_dropout=True),
        System("heads", f"MiniLM, seed 0 + {args.heads} bootstrap heads", [heads]),
    ]
    if args.seeds >= 2:
        out.append(System("seeds2", "MiniLM members, seeds 0–1", s[:2]))
    if args.seeds >= 3:
        out.append(System("seeds3", "MiniLM members, seeds 0–2", s[:3]))
    if not args.no_smollm2:
        out.append(System("smollm2", f"SmolLM2 frozen + {args.heads} bootstrap heads", [smol]))
        out.append(
            System(
                "mixed2", "MiniLM seed 0 + SmolLM2 (2 backbones)", [s[0], smol], members_folder=True
            )
        )
        if args.seeds >= 2:
            out.append(
                System("mixed3", "MiniLM seeds 0–1 + SmolLM2", s[:2] + [smol], members_folder=True)
            )
    return out


def saved_rows(saved: Path, system: System, mc_passes: int) -> list[dict] | None:
    """The rows an earlier run stored for ``system``, or None to score it now: none stored,
    or its MC-dropout measure was taken with another number of passes (files from before
    the count was stored have none: scored again)."""
    if not saved.is_file():
        return None
    stored = json.loads(saved.read_text())
    if system.mc_dropout and stored.get("mc_dropout_passes") != mc_passes:
        return None
    return stored["rows"]


def score_systems(work: Path, systems: list[System], eval_pairs, args) -> None:
    """Each system's per-pair rows (``correct``, ``uncertainty``), from OUT/scores when saved
    by an earlier run, else scored now (one forward per model and text: a shared cache)."""
    cache, loaded = CachedForward(forward_sequences), {}
    for system in systems:
        saved = work / "scores" / f"{system.name}.json"
        system.rows = saved_rows(saved, system, args.mc_passes)
        if system.rows is not None:
            continue
        if system.members_folder:  # the folder rewardkit eval would load: check that it opens
            folder = work / system.name
            write_members_manifest(folder, [f"../{name}" for name in system.folders])
            print(f"{system.name}: {load_reward_model(folder).describe()}", flush=True)
        for name in system.folders:
            if name not in loaded:
                loaded[name] = load_reward_model(work / name)
        first = loaded[system.folders[0]]
        if len(system.folders) == 1:
            scorer = Scorer([first.primary], heads=first.heads, source=system.name, forward=cache)
        else:
            models = [loaded[name].primary for name in system.folders]
            scorer = Scorer(models, source=system.name, forward=cache)
        started = time.perf_counter()
        scored = scorer.score_pairs(eval_pairs, overlong="truncate", progress=False)
        mc = None
        if system.mc_dropout:
            mc = scorer.mc_dropout_deltas(scored, MCDropout(args.mc_passes, None, seed=0))
        options = ProxyOptions(probes=[], plots=False, mc_dropout=mc)
        result = evaluate_proxy(scorer, eval_pairs, scored, options)
        system.rows = [
            {"key": r["key"], "correct": r["correct"], "uncertainty": r["uncertainties"]}
            for r in result.rows
            if r["correct"] is not None
        ]
        unc = result.metrics["uncertainty"]
        stored = {"rows": system.rows, "uncertainty": _without_curves(unc)}
        if system.mc_dropout:
            stored["mc_dropout_passes"] = args.mc_passes
        write_json_atomic(saved, stored)
        print(
            f"{system.name}: scored in {time.perf_counter() - started:.0f} s, accuracy "
            f"{pct(result.metrics['accuracy'])}",
            flush=True,
        )


def _without_curves(block: dict) -> dict:
    return {
        k: (
            {kk: vv for kk, vv in v.items() if kk != "accuracy_coverage"}
            if isinstance(v, dict)
            else v
        )
        for k, v in block.items()
    }


def compare(systems: list[System], args) -> list[dict]:
    """One entry per (system, measure): figures, and paired intervals against the system's
    own margin and against the single model's margin."""
    keys = [r["key"] for r in systems[0].rows]
    base = _arrays(systems[0], keys, "margin")
    entries = []
    for system in systems:
        own = _arrays(system, keys, "margin")
        for measure in system.rows[0]["uncertainty"]:
            mine = _arrays(system, keys, measure)
            entry = {"system": system.name, "description": system.description, "measure": measure}
            entry["accuracy"] = float(mine[1].mean())
            entry["vs_own_margin"] = paired_bootstrap(own, mine, n_boot=args.n_boot, seed=0)
            entry["vs_single_margin"] = paired_bootstrap(base, mine, n_boot=args.n_boot, seed=0)
            entries.append(entry)
    return entries


def _arrays(system: System, keys: list[str], measure: str) -> tuple[np.ndarray, np.ndarray]:
    by_key = {r["key"]: r for r in system.rows}
    rows = [by_key[k] for k in keys]
    return (
        np.array([r["uncertainty"][measure] for r in rows]),
        np.array([r["correct"] for r in rows], dtype=bool),
    )


def _cell(block: dict, name: str, digits: int = 3) -> str:
    if block["value"] is None:
        return "n/a"
    if name.startswith("accuracy"):
        return pct(block["value"])
    return f"{block['value']:.{digits}f}"


def _delta(block: dict, name: str) -> str:
    if block["difference"] is None or block["ci95"] is None:
        return "n/a"
    scale, unit = (100, " pts") if name.startswith("accuracy") else (1, "")
    d, (lo, hi) = block["difference"] * scale, (v * scale for v in block["ci95"])
    star = " **✓**" if block["better"] else ""
    digits = 1 if scale == 100 else 3
    return f"{d:+.{digits}f}{unit} ({lo:+.{digits}f}…{hi:+.{digits}f}){star}"


def print_tables(entries: list[dict]) -> None:
    labels = {
        "error_auroc": "error AUROC",
        "aurc": "AURC",
        "accuracy_at_50": "acc @50%",
        "accuracy_at_80": "acc @80%",
    }
    head = (
        "| system | measure | accuracy | "
        + " | ".join(f"{labels[n]} | Δ vs margin (95% CI)" for n in FIGURES)
        + " |"
    )
    print("\nAgainst the same system's margin (same ranking, same errors):\n")
    print(head)
    print("|" + "---|" * (3 + 2 * len(FIGURES)))
    for e in entries:
        cells = []
        for n in FIGURES:
            block = e["vs_own_margin"][n]
            cells += [
                _cell(block, n),
                "reference" if e["measure"] == "margin" else _delta(block, n),
            ]
        print(
            f"| {e['description']} | {e['measure']} | {pct(e['accuracy'])} | "
            + " | ".join(cells)
            + " |"
        )
    print("\nAgainst the single model's margin (what switching model and measure buys):\n")
    print("| system | measure | " + " | ".join(f"Δ {labels[n]} (95% CI)" for n in FIGURES) + " |")
    print("|" + "---|" * (2 + len(FIGURES)))
    for e in entries[1:]:
        cells = [_delta(e["vs_single_margin"][n], n) for n in FIGURES]
        print(f"| {e['description']} | {e['measure']} | " + " | ".join(cells) + " |")
    print("\n✓: the paired 95% interval excludes 0 in the measure's favour.")


def verdict(entries: list[dict]) -> dict:
    """The best measure that beats its margin on error AUROC by an interval excluding 0."""
    winners = [
        e
        for e in entries
        if e["measure"] != "margin" and e["vs_own_margin"]["error_auroc"]["better"]
    ]
    best = max(winners, key=lambda e: e["vs_own_margin"]["error_auroc"]["value"], default=None)
    if best is None:
        line = (
            "no measure beats the margin on error AUROC by a paired interval that excludes 0: "
            "the margin stays the default uncertainty"
        )
        return {"best": None, "line": line, "target_met": False}
    auroc = best["vs_own_margin"]["error_auroc"]["value"]
    met = auroc >= TARGET_AUROC
    line = (
        f"best measure beating its margin: {best['measure']} of {best['description']} (error "
        f"AUROC {auroc:.3f}; target ≥ {TARGET_AUROC} {'met' if met else 'not met'})"
    )
    return {"best": [best["system"], best["measure"]], "line": line, "target_met": met}


def main() -> None:
    args = parse_args()
    quiet_libraries()
    if args.tiny:
        work = training_workspace(args, "rk-bench-uncertainty")  # tiny BERT + world pairs
        from tiny import tiny_llama_backbone

        args.second_backbone = tiny_llama_backbone(work / "tiny-llama")
        args.seeds, args.heads, args.mc_passes = min(args.seeds, 2), 3, 3
        args.n_boot = min(args.n_boot, 100)
        # a smoke test: 3 steps, a fixed head L2 (no cross-validation), no OOD statistics
        args.quick = {"max_steps": 3, "head_l2": 0.01, "proxy_eval": False}
    else:
        work = Path(args.out or "runs/uncertainty")
        work.mkdir(parents=True, exist_ok=True)
        if not args.no_smollm2:
            from rewardkit.candidates.smollm2 import smollm2_folder

            args.second_backbone = str(smollm2_folder())
    print(
        f"machine: {machine()}\ndate: {today()}\ncommit: {commit()}\n"
        f"data: {args.data}\nout: {work}",
        flush=True,
    )
    train_seconds = run_training(work, args)
    _, eval_pairs = split_by_prompt(read_pairs(args.data)[0], 0.2)
    systems = systems_for(args)
    score_systems(work, systems, eval_pairs, args)
    entries = compare(systems, args)
    print_tables(entries)
    result = verdict(entries)
    print(result["line"])
    write_json_atomic(
        work / "uncertainty.json",
        {
            "date": today(),
            "machine": machine(),
            "commit": commit(),
            "data": args.data,
            "eval_pairs": len(systems[0].rows),
            "mc_dropout_passes": args.mc_passes,
            "n_boot": args.n_boot,
            "train_seconds": train_seconds,
            "entries": entries,
            "verdict": result,
        },
    )


if __name__ == "__main__":
    main()
