"""The engine accelerate runs underneath (DDP, FSDP or DeepSpeed ZeRO), and how rewardkit's
flags reach it.

rewardkit plans the optimizer step itself: its batch plan, ``--grad-accum`` and
``--max-grad-norm``. Under DeepSpeed the engine owns those (it clips and steps inside
``backward``), so its config is set from the flags before ``accelerate.prepare``: micro-batch
``--batch-size``, accumulation ``--grad-accum``, clipping ``--max-grad-norm``, and at ZeRO-3
the gathered 16-bit save the final model is taken from. A launcher config that said otherwise
is overridden with one line saying so. Each micro-batch tells the engine whether it ends the
step (DeepSpeed's accumulation boundary, DDP's ``no_sync``), and DeepSpeed's division of the
loss by the accumulation steps is off: rewardkit's loss weights already make the step's mean
over its pairs (:func:`rewardkit.train.finetune._optimizer_step`).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType

from rewardkit.train.config import TrainConfig


def engine_name(accelerator: Accelerator) -> str:
    """What trains: ``single process``, ``DDP``, ``FSDP`` or ``DeepSpeed ZeRO-k``."""
    kind = accelerator.distributed_type
    if kind == DistributedType.DEEPSPEED:
        return f"DeepSpeed ZeRO-{accelerator.state.deepspeed_plugin.zero_stage}"
    if kind == DistributedType.FSDP:
        return "FSDP"
    return "single process" if accelerator.num_processes == 1 else "DDP"


def configure_engine(accelerator: Accelerator, config: TrainConfig) -> list[str]:
    """Set the engine's own settings from rewardkit's flags (before ``prepare``); the notes
    to print: the settings of the launcher's config that were overridden."""
    if accelerator.distributed_type != DistributedType.DEEPSPEED:
        return []
    plugin = accelerator.state.deepspeed_plugin
    wanted = {
        "train_micro_batch_size_per_gpu": (config.batch_size, "--batch-size"),
        "gradient_accumulation_steps": (config.grad_accum, "--grad-accum"),
        "gradient_clipping": (config.max_grad_norm, "--max-grad-norm"),
    }
    notes = []
    for key, (value, flag) in wanted.items():
        before = plugin.deepspeed_config.get(key, "auto")
        if before != "auto" and before != value:
            notes.append(f"DeepSpeed's {key} {before} is replaced by {flag} {value}")
        plugin.deepspeed_config[key] = value
    plugin.deepspeed_config.pop("train_batch_size", None)  # accelerate derives it
    accelerator.gradient_accumulation_steps = config.grad_accum
    if plugin.zero_stage == 3:
        zero = plugin.deepspeed_config.setdefault("zero_optimization", {})
        if not zero.get("stage3_gather_16bit_weights_on_model_save"):
            notes.append(
                "ZeRO-3's gathered save is switched on "
                "(stage3_gather_16bit_weights_on_model_save): the final model is gathered"
            )
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return notes


@contextmanager
def micro_batch(accelerator: Accelerator, wrapped: torch.nn.Module, *, last: bool):
    """One micro-batch's forward and backward; the gradients are synchronised (and, under
    DeepSpeed, the step taken) only after the ``last`` of the step."""
    if accelerator.distributed_type != DistributedType.DEEPSPEED:
        with nullcontext() if last else accelerator.no_sync(wrapped):
            yield
        return
    state = accelerator.gradient_state
    state._set_sync_gradients(last)  # accelerate's backward passes it as the boundary
    try:
        yield
    finally:
        state._set_sync_gradients(True)


def backward(accelerator: Accelerator, loss: torch.Tensor) -> None:
    """The engine's backward of an already weighted loss (DeepSpeed: not divided again by
    the accumulation steps)."""
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        accelerator.backward(loss, scale_wrt_gas=False)
    else:
        accelerator.backward(loss)
