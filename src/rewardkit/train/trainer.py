"""``rewardkit.train(config)``: picks the training path; each lives in its own module.

=====================================  =====================================================
options                                path
=====================================  =====================================================
(default; ``--ensemble K`` fits K      :mod:`rewardkit.train.finetune` — full fine-tune, then
bootstrap heads afterwards)            :mod:`rewardkit.train.final_report`
``--freeze-backbone``                  :mod:`rewardkit.train.frozen` — features once, linear
                                       head(s) in seconds
``--ensemble K --ensemble-mode         :mod:`rewardkit.train.members` — K fine-tunes
members``
=====================================  =====================================================

All three save through :mod:`rewardkit.train.outputs` and evaluate through
:func:`rewardkit.eval.proxy.evaluate_proxy`. A run begins by removing what a killed earlier
writer left beside ``--out`` (:func:`rewardkit.files.remove_stale_temporaries`).
"""

from __future__ import annotations

from rewardkit.files import remove_stale_temporaries
from rewardkit.train.config import TrainConfig
from rewardkit.train.finetune import train_finetune
from rewardkit.train.frozen import train_frozen
from rewardkit.train.members import train_members
from rewardkit.train.outputs import TrainResult


def train(config: TrainConfig, *, quiet: bool = False, progress: bool | None = None) -> TrainResult:
    """Train a reward model as ``config`` says and save it to ``config.out``."""
    remove_stale_temporaries(config.out)
    if config.freeze_backbone:
        return train_frozen(config, quiet=quiet, progress=progress)
    if config.ensemble > 1 and config.ensemble_mode == "members":
        return train_members(config, quiet=quiet, progress=progress)
    return train_finetune(config, quiet=quiet, progress=progress)
