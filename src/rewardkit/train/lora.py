"""LoRA fine-tuning through ``peft`` (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
Language Models"): each targeted weight ``W`` (d×k) is frozen and learns ``W + (α/r)·B·A``
with ``B`` (d×r, zero at the start) and ``A`` (r×k), so a step updates ``r·(d+k)`` numbers
instead of ``d·k``.

The reward head is new, so it is trained in full, and so is an encoder's pooler (BERT's head
reads the pooler's output): both go to peft's ``modules_to_save`` and are saved with the
adapter — a reward model saved without its head scores with a random one on reload, a known
failure of LoRA reward models elsewhere. At the end, :func:`finish_lora` merges the adapter
into the weights (``--merge-lora``, the default: a plain HF model), or keeps it for saving as
an adapter folder that rewardkit's one loader opens
(:mod:`rewardkit.model.adapter_folder`).
"""

from __future__ import annotations

from rewardkit.errors import UserError
from rewardkit.model.adapter_folder import AdapterFiles
from rewardkit.model.features import classification_head
from rewardkit.model.reward_model import RewardModel
from rewardkit.train.config import TrainConfig


def add_lora(model: RewardModel, config: TrainConfig) -> None:
    """Wrap ``model.model`` in a peft model with rank ``--lora-r`` adapters."""
    from peft import LoraConfig, get_peft_model

    head_name, _ = classification_head(model.model)
    trained_in_full = [head_name.split(".")[0]]
    if getattr(model.model, model.model.base_model_prefix, None) is not None and hasattr(
        getattr(model.model, model.model.base_model_prefix), "pooler"
    ):
        trained_in_full.append("pooler")
    targets = [t.strip() for t in config.lora_target.split(",") if t.strip()]
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha or 2 * config.lora_r,
        lora_dropout=0.0,
        target_modules=(targets[0] if targets == ["all-linear"] else targets) or None,
        modules_to_save=trained_in_full,
        task_type="SEQ_CLS",
    )
    try:
        model.model = get_peft_model(model.model, lora)
    except ValueError as exc:
        raise UserError(f"--lora-target {config.lora_target!r}: {exc}") from None


def finish_lora(model: RewardModel, config: TrainConfig) -> None:
    """Merge the adapter into the weights; without ``--merge-lora`` keep its files for the
    save first. Either way ``model.model`` is a plain HF model afterwards."""
    from peft.utils import get_peft_model_state_dict

    peft_model = model.model
    if not config.merge_lora:
        state = get_peft_model_state_dict(peft_model)
        model.adapter = AdapterFiles(
            peft_model.peft_config["default"].to_dict(),
            {name: tensor.detach().cpu().clone() for name, tensor in state.items()},
        )
    model.model = peft_model.merge_and_unload()


def without_peft(model):
    """The HF model inside a peft model (LoRA layers and the head's trained copy included);
    any other model as it is."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model
