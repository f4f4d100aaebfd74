"""Named presets of ``rewardkit train --preset NAME``: several options set at once.

A preset sits beneath the user's own options — defaults ← preset ← ``--config`` YAML ← flags
(:func:`rewardkit.config.build_config`) — so ``--preset default --lr 5e-5`` is the preset with
another learning rate. Each preset's ``description`` says what was measured with it and where
(the BENCHMARKS.md section); a preset is added only with a measurement behind it.
``bench/quality_budget.py`` prints the entry its chosen recipe would be, to be pasted here
with the run's figures.

The module is light (no torch): ``TrainConfig`` reads it for ``--help``.
"""

from __future__ import annotations

from rewardkit.config import Preset

# rewardkit's defaults as BENCHMARKS.md measured them, pinned (tests/train/test_presets.py checks
# they still are the defaults)
DEFAULT_OPTIONS = {
    "epochs": 1,
    "max_length": 512,
    "batch_size": 16,
    "lr": 1e-4,
    "warmup_ratio": 0.1,
    "schedule": "linear",
    "precision": "fp32",
}

PRESETS: dict[str, Preset] = {
    "default": Preset(
        options=dict(DEFAULT_OPTIONS),
        description=(
            "rewardkit's defaults, pinned: the settings of BENCHMARKS.md 'hh-rlhf accuracy, "
            "default settings' (MiniLM, hh-rlhf harmless canonical split: 61.2% mean eval "
            "accuracy over 3 seeds) and of the fp32 rows of 'Training speed against TRL's "
            "RewardTrainer' (2.43x TRL's pairs/s at equal accuracy)."
        ),
    ),
    "budget": Preset(
        options={**DEFAULT_OPTIONS, "epochs": 2},
        description=(
            "the default recipe for two epochs: the most accurate recipe that finished within "
            "the time of one epoch of TRL's RewardTrainer, chosen by bench/quality_budget.py on "
            "a prompt-disjoint validation split of the hh-rlhf harmless train pairs (63.9% mean "
            "over 3 seeds, against the default's 60.4%); on the 438 eval pairs 62.8% +- 2.3 "
            "against the default's 61.2% +- 1.6 (paired difference +1.6 points, 95% CI -1.3 "
            "to +4.4: not significant), in 0.81x TRL's one-epoch time (fp32, 2-core AMD EPYC, "
            "commit be4c20e). The issue's 64% target is not met. BENCHMARKS.md 'Accuracy for "
            "the time'."
        ),
    ),
}


def preset_help() -> str:
    """The ``--preset`` help: each preset with the flags it sets (:func:`preset_flags`)."""
    listed = "; ".join(f"{name} = {preset_flags(name)}" for name in PRESETS)
    return (
        "Start from a named set of options, each measured (docs/training.md#presets says "
        f"where); your flags and --config file override it. {listed}."
    )


def preset_flags(name: str) -> str:
    """The flags preset ``name`` stands for; a preset that sets every option ``default`` sets
    is spelled as ``default`` plus the flags where it differs, so the help stays short."""
    from rewardkit.config import option_flags

    options, base = PRESETS[name].options, PRESETS["default"].options
    if name == "default" or not set(base) <= set(options):
        return " ".join(option_flags(options))
    changed = {key: value for key, value in options.items() if base.get(key) != value}
    return " ".join(["default", *option_flags(changed)])
