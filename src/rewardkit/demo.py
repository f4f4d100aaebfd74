"""``rewardkit demo``: the whole loop offline, checked against a known gold reward.

1. build the demo world (:mod:`rewardkit.world`): prompts, responses with gold rewards,
   labels from simulated annotators who share a flattery bias;
2. train the default backbone (all-MiniLM-L6-v2) on the world's train pairs;
3. evaluate on held-out pairs: accuracy against the simulated labels, against gold, and the
   noise ceiling (gold's own accuracy on those labels);
4. the overoptimization lab (:mod:`rewardkit.overopt`): best-of-n over 16 world candidates per
   held-out prompt against the trained proxy and its head ensemble (mean, worst case,
   uncertainty-weighted), measured with gold → ``OUT/overopt/``;
5. judge the model as a proxy (``rewardkit eval --calibrate``) with an extra probe for the
   annotators' flattery bias, ending with ``OUT/report/report.html``, whose last section is the
   lab's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.files import write_json_atomic
from rewardkit.formatting import percent
from rewardkit.progress import console
from rewardkit.train.config import TrainConfig

# the demo's options that it passes on to `rewardkit train` unchanged
TRAINING_OPTIONS = ("backbone", "epochs", "lr", "batch_size", "max_length", "seed", "precision")
OVEROPT_DIR = "overopt"


@dataclass
class DemoConfig(Options):
    """Options of ``rewardkit demo``."""

    command = "demo"

    out: str = option("demo-out", "Folder for the world, the model and the results.")
    seed: int = option(0, "Seed of the world and of training.")
    n_train_pairs: int = option(2000, "Training pairs in the world.")
    n_eval_pairs: int = option(500, "Held-out pairs in the world.")
    epochs: int = option(1, "Training epochs.")
    lr: float = option(1e-4, "Learning rate.")
    batch_size: int = option(16, "Pairs per batch.")
    max_length: int = option(192, "Max tokens per text (world texts are short).")
    backbone: str | None = option(None, "Backbone (default all-MiniLM-L6-v2, offline).")
    precision: str = option("fp32", "fp32 or bf16.", choices=("fp32", "bf16"))
    ensemble: int = option(
        5,
        "Linear heads fitted on bootstrap resamples after training (the proxy is their mean); "
        "the overoptimization lab also optimizes their worst case and mean − λ·variance.",
    )
    overopt_prompts: int = option(200, "Candidate sets in the overoptimization lab (0 = skip).")
    overopt_candidates: int = option(16, "World candidates per prompt in the lab (best-of-1…N).")

    def __post_init__(self):
        super().__post_init__()
        if self.n_train_pairs < 16 or self.n_eval_pairs < 1:
            raise UserError("--n-train-pairs must be at least 16 and --n-eval-pairs at least 1")
        if self.ensemble < 1 or self.overopt_prompts < 0 or self.overopt_candidates < 2:
            raise UserError(
                "--ensemble must be at least 1, --overopt-prompts 0 or more and "
                "--overopt-candidates at least 2"
            )


def run_demo(config: DemoConfig, *, progress: bool | None = None) -> dict:
    # numpy, torch and the world's generator: loaded when the demo runs, not for `--help`
    from rewardkit.model.loading import load_reward_model
    from rewardkit.train import train
    from rewardkit.world import (
        WorldConfig,
        accuracy_against_gold,
        build_world,
        load_world_split,
        noise_ceiling,
        write_world,
    )

    out = Path(config.out)
    world = build_world(
        WorldConfig(
            n_train_pairs=config.n_train_pairs, n_eval_pairs=config.n_eval_pairs, seed=config.seed
        )
    )
    paths = write_world(world, out / "world")
    console.print(
        f"world: {len(world.train)} train / {len(world.eval)} eval pairs in {out / 'world'}",
        highlight=False,
    )
    training = {name: getattr(config, name) for name in TRAINING_OPTIONS}
    result = train(
        TrainConfig(
            data=str(paths["train"]),
            eval_data=str(paths["eval"]),
            out=str(out / "model"),
            ensemble=config.ensemble,
            **training,
        ),
        progress=progress,
    )
    held_out = load_world_split(out / "world", "eval")
    scored = load_reward_model(out / "model").score_pairs(held_out)
    if len(scored.pairs) != len(held_out):
        raise UserError("some demo pairs did not fit --max-length; raise it")
    r_c, r_r = scored.r_chosen, scored.r_rejected
    label_accuracy = float((r_c > r_r).mean())
    gold_accuracy = accuracy_against_gold(held_out, r_c, r_r)
    ceiling = noise_ceiling(held_out)
    summary = {
        "accuracy_vs_labels": label_accuracy,
        "accuracy_vs_gold": gold_accuracy,
        "noise_ceiling": ceiling,
        "gap_to_ceiling_points": 100 * (ceiling - gold_accuracy),
        "eval_pairs": len(held_out),
        "model": str(out / "model"),
        "training_seconds": result.metrics["training"]["seconds"],
    }
    console.print(
        f"held-out accuracy vs simulated labels: {percent(label_accuracy)}\n"
        f"held-out accuracy vs gold reward:      {percent(gold_accuracy)}\n"
        f"noise ceiling (gold vs labels):        {percent(ceiling)}",
        highlight=False,
    )
    sections = []
    if config.overopt_prompts:
        lab = overoptimization_lab(out, world, config, progress=progress)
        summary["overoptimization"] = lab["findings"]
        sections.append(lab["section"])
    summary.update(proxy_report(out, paths["eval"], progress=progress, sections=sections))
    write_json_atomic(out / "demo.json", summary)
    return summary


def overoptimization_lab(out: Path, world, config: DemoConfig, *, progress=None) -> dict:
    """Step 4: world candidates (``OUT/world/candidates.jsonl``), ``rewardkit overopt`` on the
    trained proxy against gold (``OUT/overopt/``), and the section for the demo's report."""
    from rewardkit.data.writers import write_jsonl
    from rewardkit.overopt.config import OveroptConfig
    from rewardkit.overopt.report import render_section
    from rewardkit.overopt.run import run_overopt
    from rewardkit.world import world_candidates

    rows = world_candidates(
        world, config.overopt_prompts, config.overopt_candidates, seed=config.seed
    )
    candidates = out / "world" / "candidates.jsonl"
    write_jsonl(candidates, rows)
    lab = run_overopt(
        OveroptConfig(
            proxy=[str(out / "model")],
            candidates=str(candidates),
            gold="world",
            out=str(out / OVEROPT_DIR),
        ),
        progress=progress,
    )
    console.print(f"overoptimization lab: {lab['findings']['paragraph']}", highlight=False)
    return {**lab, "section": render_section(lab)}


def proxy_report(out: Path, eval_path: Path, *, progress: bool | None = None, sections=()) -> dict:
    """Step 5: ``rewardkit eval --calibrate`` on the held-out pairs, with one extra probe for
    the world's annotator bias (an appended :data:`FLATTERY_SENTENCES` sentence), ending in
    ``OUT/report/report.html`` with ``sections`` (the lab's) at its end."""
    from rewardkit.eval.report_text import print_metrics
    from rewardkit.eval.run import EvalConfig, run_eval
    from rewardkit.overopt.tricks import WORLD_FLATTERY_PROBE, world_flattery_probe

    metrics = run_eval(
        EvalConfig(
            model=str(out / "model"), data=str(eval_path), out=str(out / "report"), calibrate=True
        ),
        progress=progress,
        extra_probes=[world_flattery_probe()],
        extra_sections=sections,
    )
    print_metrics(metrics)
    probes = metrics["probes"]["results"]
    preserving = {
        name: block["flip_rate"] or 0.0
        for name, block in probes.items()
        if block["kind"] == "meaning-preserving"
    }
    worst = max(preserving, key=preserving.get)
    bias_rate = probes[WORLD_FLATTERY_PROBE]["flip_rate"] or 0.0
    fit = metrics["calibration"]["calibration_fit"]
    console.print(
        f"bias probe ({WORLD_FLATTERY_PROBE}): flip rate {percent(bias_rate)} vs at most "
        f"{percent(preserving[worst])} for a meaning-preserving edit ({worst})\n"
        f"report: {out / 'report' / 'report.html'}",
        highlight=False,
    )
    return {
        "report": str(out / "report" / "report.html"),
        "bias_probe_flip_rate": bias_rate,
        "meaning_preserving_flip_rates": preserving,
        "ece_before": fit["before"]["ece"],
        "ece_after": fit["after"]["ece"],
        "temperature": fit["temperature"],
        "calibration_exponent": fit["exponent"],
        "calibration_form": fit["form"],
    }
