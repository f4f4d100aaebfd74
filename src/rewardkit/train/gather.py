"""The trained model out of an engine that shards the parameters (FSDP full shard, DeepSpeed
ZeRO-3), so that evaluation and saving see a whole, normal HF model.

Under DDP and ZeRO-2 every process holds all the weights, and unwrapping the engine's wrapper
is enough. Under FSDP and ZeRO-3 each process holds only its shard: at the end the engine
gathers the full state dict on the main process (``accelerator.get_state_dict``: FSDP's
``FULL_STATE_DICT``, ZeRO-3's ``zero3_save_16bit_model``), it is broadcast, and every process
loads it into a fresh copy of the model (the final evaluation is shared out over processes,
so each needs the whole model: 2 bytes per parameter in bf16). Periodic evaluation would need
the same gather at every step, and checkpoints would hold one process's share of the
optimizer state (every ZeRO stage splits it): they refuse with one line instead.

The fresh copy is built with ZeRO-3's partitioned construction switched off (with a ZeRO-3
config registered, ``from_pretrained`` creates every parameter as an empty shard under
``deepspeed.zero.Init``): it must hold the whole gathered weights.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType

from rewardkit.errors import UserError


def shards_parameters(accelerator: Accelerator) -> bool:
    """FSDP, or DeepSpeed at ZeRO stage 3."""
    if accelerator.distributed_type == DistributedType.FSDP:
        return True
    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        return accelerator.state.deepspeed_plugin.zero_stage == 3
    return False


def refuse_periodic_work(accelerator: Accelerator, eval_every: int, save_every: int) -> None:
    """One line for the periodic work an engine that splits the model cannot do: evaluating
    (FSDP, ZeRO-3: the whole model at every step) and checkpoints (FSDP and every ZeRO stage:
    rewardkit's checkpoints hold the whole model and one process's optimizer state)."""
    deepspeed = accelerator.distributed_type == DistributedType.DEEPSPEED
    if save_every and (deepspeed or shards_parameters(accelerator)):
        raise UserError(
            "--save-every: rewardkit's checkpoints hold the whole model and one process's "
            "optimizer state, which FSDP and DeepSpeed ZeRO split over the processes, so a "
            "resume would be wrong; drop --save-every, or train resumably under DDP"
        )
    if eval_every and shards_parameters(accelerator):
        raise UserError(
            "--eval-every needs the whole model at every step; under FSDP or ZeRO-3 "
            "rewardkit evaluates at the end only: drop it, or use DDP/ZeRO-2"
        )


def gathered_state_dict(accelerator: Accelerator, wrapped: torch.nn.Module) -> dict:
    """The full state dict, on every process (a collective: every process calls it)."""
    state = accelerator.get_state_dict(wrapped)
    holder = [state if accelerator.is_main_process else None]
    if accelerator.num_processes > 1:
        torch.distributed.broadcast_object_list(holder, src=0)
    return holder[0]


@contextmanager
def whole_parameters(accelerator: Accelerator):
    """A context in which a model built is whole, not ZeRO-3's empty shards (the gathered
    copy's construction). transformers partitions at construction whenever a ZeRO-3 config is
    registered (``is_deepspeed_zero3_enabled``), so the registration is lifted meanwhile."""
    plugin = accelerator.state.deepspeed_plugin
    if accelerator.distributed_type != DistributedType.DEEPSPEED or plugin is None:
        yield
        return
    from transformers.integrations import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()
    try:
        yield
    finally:
        plugin.set_deepspeed_weakref()
