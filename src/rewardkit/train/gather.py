"""The trained model out of an engine that shards the parameters (FSDP full shard, DeepSpeed
ZeRO-3), so that evaluation and saving see a whole, normal HF model.

Under DDP and ZeRO-2 every process holds all the weights, and unwrapping the engine's wrapper
is enough. Under FSDP and ZeRO-3 each process holds only its shard: at the end the engine
gathers the full state dict on the main process (``accelerator.get_state_dict``: FSDP's
``FULL_STATE_DICT``, ZeRO-3's ``zero3_save_16bit_model``), it is broadcast, and every process
loads it into a fresh copy of the model (the final evaluation is shared out over processes,
so each needs the whole model: 2 bytes per parameter in bf16). Periodic evaluation and
checkpoints would need the same gather at every step; they refuse with one line instead.
"""

from __future__ import annotations

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
    if shards_parameters(accelerator) and (eval_every or save_every):
        raise UserError(
            "--eval-every/--save-every need the whole model at every step; under FSDP or "
            "ZeRO-3 rewardkit evaluates and saves at the end only: drop them, or use DDP/ZeRO-2"
        )


def gathered_state_dict(accelerator: Accelerator, wrapped: torch.nn.Module) -> dict:
    """The full state dict, on every process (a collective: every process calls it)."""
    state = accelerator.get_state_dict(wrapped)
    holder = [state if accelerator.is_main_process else None]
    if accelerator.num_processes > 1:
        torch.distributed.broadcast_object_list(holder, src=0)
    return holder[0]
