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
writer left beside ``--out`` (:func:`rewardkit.files.remove_stale_temporaries`). Under a
launcher (``accelerate launch``, ``torchrun``) only the full fine-tune runs: the other two
refuse with one line (run them as one process; the frozen path takes seconds).
"""

from __future__ import annotations

from rewardkit.errors import UserError
from rewardkit.files import remove_stale_temporaries
from rewardkit.model.shards import launched_processes
from rewardkit.train.config import TrainConfig
from rewardkit.train.finetune import train_finetune
from rewardkit.train.frozen import train_frozen
from rewardkit.train.members import train_members
from rewardkit.train.outputs import TrainResult


def train(config: TrainConfig, *, quiet: bool = False, progress: bool | None = None) -> TrainResult:
    """Train a reward model as ``config`` says and save it to ``config.out``."""
    remove_stale_temporaries(config.out)
    _refuse_launched_single_process_paths(config)
    if config.freeze_backbone:
        return train_frozen(config, quiet=quiet, progress=progress)
    if config.ensemble > 1 and config.ensemble_mode == "members":
        return train_members(config, quiet=quiet, progress=progress)
    return train_finetune(config, quiet=quiet, progress=progress)


def _refuse_launched_single_process_paths(config: TrainConfig) -> None:
    processes = launched_processes()
    if processes == 1:
        return
    path = (
        "--freeze-backbone"
        if config.freeze_backbone
        else "--ensemble-mode members"
        if config.ensemble > 1 and config.ensemble_mode == "members"
        else None
    )
    if path:
        raise UserError(
            f"{path} runs in one process, not under a launcher ({processes} processes); "
            "run it without accelerate launch/torchrun"
        )
