"""Where a model runs and in which precision: devices, bf16 autocast."""

from __future__ import annotations

import os
from contextlib import nullcontext

import torch

from rewardkit.errors import UserError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision!r} is not one of {', '.join(PRECISIONS)}")


def autocast_for(precision: str, device: torch.device):
    """bf16 autocast (AMX on Xeon CPUs) or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def resolve_device(name: str) -> torch.device:
    """``auto`` → the first CUDA GPU when one is visible, else the CPU; ``cpu``, ``cuda[:N]``.
    Under a launcher (``LOCAL_RANK`` set), ``auto`` and ``cuda`` mean this process's own GPU."""
    if name in ("auto", "cuda") and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]) % torch.cuda.device_count())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(
            f"--device {name!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"--device {name!r}: rewardkit runs on cpu or cuda; use auto, cpu or cuda")
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0 or (device.index or 0) >= count:
            raise UserError(
                f"--device {name}: no such CUDA GPU is visible ({count} found); use "
                "--device cpu or auto"
            )
    return device
