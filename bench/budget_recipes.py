"""The recipes ``bench/quality_budget.py`` tries: named sets of ``rewardkit train`` options.

A recipe's ``options`` are :class:`rewardkit.train.TrainConfig` names (turned into flags by
:func:`rewardkit.config.option_flags`), the same shape as a preset's
(:mod:`rewardkit.train.presets`), so the chosen one prints as a ``PRESETS`` entry. Only
options ``rewardkit train`` has today; an idea it cannot run is listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SMOLLM2 = "smollm2"  # stands for the de-quantized SmolLM2-135M folder, resolved at run time


@dataclass(frozen=True)
class Recipe:
    """``options`` for ``rewardkit train``; ``merge_of``: WARM, ``rewardkit merge`` of the
    members that recipe trains; ``skip``: why it is not run here (None: it runs)."""

    name: str
    about: str
    options: dict = field(default_factory=dict)
    merge_of: str | None = None
    skip: str | None = None


def recipes(fast: str, smollm2_problem: str | None) -> list[Recipe]:
    """Every recipe, in the order they run. ``fast``: the faster precision here (every
    recipe but ``default`` runs in it); ``smollm2_problem``: why SmolLM2 cannot be loaded,
    or None."""
    p = {} if fast == "fp32" else {"precision": fast}
    in_fast = f" ({fast})" if p else ""
    members = {"ensemble_mode": "members", **p}
    return [
        Recipe("default", "rewardkit train's defaults (fp32, 1 epoch, lr 1e-4, linear decay)"),
        Recipe(
            "bf16",
            "the defaults in bf16 autocast",
            {"precision": "bf16"},
            skip=None if fast == "bf16" else "bf16 is not the faster precision here",
        ),
        Recipe("epochs2", f"2 epochs{in_fast}", {"epochs": 2, **p}),
        Recipe("epochs3", f"3 epochs{in_fast}", {"epochs": 3, **p}),
        Recipe(
            "epochs2-cosine",
            f"2 epochs, cosine decay{in_fast}",
            {"epochs": 2, "schedule": "cosine", **p},
        ),
        Recipe(
            "lr5e-5-cosine",
            f"lr 5e-5, cosine decay{in_fast}",
            {"lr": 5e-5, "schedule": "cosine", **p},
        ),
        Recipe(
            "lr2e-4-cosine",
            f"lr 2e-4, cosine decay{in_fast}",
            {"lr": 2e-4, "schedule": "cosine", **p},
        ),
        Recipe("label-smoothing", f"label smoothing 0.1{in_fast}", {"label_smoothing": 0.1, **p}),
        Recipe(
            "members2",
            f"2 fine-tunes (seeds s, s+1), mean reward{in_fast}",
            {"ensemble": 2, **members},
        ),
        Recipe("warm2", "WARM: members2 weight-averaged by rewardkit merge", merge_of="members2"),
        Recipe(
            "members3",
            f"3 fine-tunes (seeds s…s+2), mean reward{in_fast}",
            {"ensemble": 3, **members},
        ),
        Recipe("warm3", "WARM: members3 weight-averaged by rewardkit merge", merge_of="members3"),
        Recipe(
            "smollm2-frozen",
            f"frozen SmolLM2-135M features, linear head{in_fast}",
            {"backbone": SMOLLM2, "freeze_backbone": True, **p},
            skip=smollm2_problem,
        ),
        Recipe(
            "adaptive-margin",
            "adaptive margins (Wang et al. 2024, Secrets of RLHF part II)",
            skip="rewardkit has no adaptive margin; --use-margin reads margins from the data "
            "(hh-rlhf has none)",
        ),
    ]


def select(table: list[Recipe], names: str) -> list[Recipe]:
    """The recipes named (comma-separated; empty: all), each WARM recipe's members first;
    an unknown name is one line listing the known ones (ValueError)."""
    by_name = {r.name: r for r in table}
    wanted = [n.strip() for n in names.split(",") if n.strip()] or list(by_name)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise ValueError(
            f"--recipes: unknown recipe(s) {', '.join(unknown)}; the recipes are: "
            + ", ".join(by_name)
        )
    for name in list(wanted):
        base = by_name[name].merge_of
        if base and base not in wanted:
            wanted.insert(wanted.index(name), base)
    if "default" not in wanted:  # step 3 compares the chosen recipe with it
        wanted.insert(0, "default")
    return [by_name[n] for n in wanted]
