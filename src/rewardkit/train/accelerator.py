"""The ``accelerate.Accelerator`` every training path runs under.

rewardkit sets the compute precision itself (``--precision``: autocast around the forward, the
head kept in fp32), so the Accelerator is asked for ``mixed_precision="no"``: otherwise a
process where another library's trainer already set up accelerate (TRL's configs default to
bf16) would silently wrap rewardkit's model in that trainer's autocast and train it at another
precision than the one asked for. accelerate keeps one state per process and refuses to change
it; that refusal becomes one line.

A launcher's precision (``accelerate launch --mixed_precision bf16``, or ``mixed_precision``
in an accelerate config file: both reach the process as ``ACCELERATE_MIXED_PRECISION``) is
checked against ``--precision``: the same (bf16 with ``--precision bf16``) runs under
rewardkit's autocast, a different one is refused with one line rather than silently ignored.

On a machine without a GPU the Accelerator is a CPU one (``cpu=True``: gloo), except under a
DeepSpeed config: DeepSpeed runs ZeRO on the CPU too (its CPU accelerator, gloo), but
accelerate's ``cpu=True`` would replace it by DDP. FSDP through accelerate needs a device: on
a CPU accelerate either fails with a traceback (``sync_module_states``) or silently trains
DDP, so an FSDP config there is refused with one line that names the configs that run.
"""

from __future__ import annotations

import os

import torch
from accelerate import Accelerator
from accelerate.utils import InitProcessGroupKwargs

from rewardkit.errors import UserError

# DeepSpeed on a CPU: accelerate finds no device backend for it, so the process group is
# named; ``cpu=True`` would make accelerate drop the DeepSpeed config for plain DDP.
GLOO = InitProcessGroupKwargs(backend="gloo")


def training_accelerator(precision: str = "fp32") -> Accelerator:
    """An Accelerator on the GPU when there is one, without accelerate's mixed precision;
    ``precision`` is ``--precision``, which a launcher's setting must agree with."""
    refuse_other_launcher_precision(precision)
    try:
        if torch.cuda.is_available():
            return Accelerator(mixed_precision="no")
        if launcher_engine() == "fsdp":
            raise UserError(
                "the launcher's config asks for FSDP, which accelerate runs on GPUs only; on "
                "this CPU use examples/accelerate/zero3.yaml (DeepSpeed shards on CPUs too) or "
                "ddp.yaml, with mixed_precision: 'no'"
            )
        if launcher_engine() == "deepspeed":
            return Accelerator(mixed_precision="no", kwargs_handlers=[GLOO])
        return Accelerator(cpu=True, mixed_precision="no")
    except ValueError as exc:
        if "already been initialized" not in str(exc):
            raise
        raise UserError(
            "accelerate was already set up in this process with another mixed precision "
            "(e.g. by a TRL or transformers Trainer run before); rewardkit sets the precision "
            "itself (--precision): run rewardkit train in a fresh process, or call "
            "rewardkit.train.accelerator.reset_accelerate_state() before it"
        ) from None


def launcher_engine() -> str:
    """The engine the launcher's accelerate config asks for: ``deepspeed``, ``fsdp`` or
    ``ddp`` (plain data parallel, or a single process)."""
    for engine in ("deepspeed", "fsdp"):
        if os.environ.get(f"ACCELERATE_USE_{engine.upper()}", "").lower() == "true":
            return engine
    return "ddp"


def refuse_other_launcher_precision(precision: str) -> None:
    """One line when the launcher asked for a mixed precision other than ``--precision``."""
    launcher = os.environ.get("ACCELERATE_MIXED_PRECISION", "no").lower()
    if launcher in ("no", "") or launcher == precision:
        return
    raise UserError(
        f"the launcher asks for mixed precision {launcher} but --precision is {precision}; "
        "rewardkit sets the precision itself: pass --precision bf16 for bf16, or launch "
        "with --mixed_precision no"
    )


def reset_accelerate_state() -> None:
    """Forget accelerate's per-process state (left by another library's trainer, e.g. TRL's),
    as a fresh process would, so that :func:`training_accelerator` can set its own. Only
    between runs: never while another Accelerator is still training in this process."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
