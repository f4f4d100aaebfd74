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

PRESETS: dict[str, Preset] = {
    "default": Preset(
        options={
            "epochs": 1,
            "max_length": 512,
            "batch_size": 16,
            "lr": 1e-4,
            "warmup_ratio": 0.1,
            "schedule": "linear",
            "precision": "fp32",
        },
        description=(
            "rewardkit's defaults, pinned: the settings of BENCHMARKS.md 'hh-rlhf accuracy, "
            "default settings' (MiniLM, hh-rlhf harmless canonical split: 61.2% mean eval "
            "accuracy over 3 seeds) and of the fp32 rows of 'Training speed against TRL's "
            "RewardTrainer' (2.43x TRL's pairs/s at equal accuracy)."
        ),
    ),
}


def preset_help() -> str:
    """The ``--preset`` help: each preset with the flags it sets."""
    from rewardkit.config import option_flags

    listed = "; ".join(
        f"{name} = {' '.join(option_flags(preset.options))}" for name, preset in PRESETS.items()
    )
    return (
        "Start from a named set of options, each measured (docs/training.md#presets says "
        f"where); your flags and --config file override it. {listed}."
    )
