"""Options shared by the commands that load a saved reward model (one declaration, one help
text): how it is loaded (``score``, ``bon``, ``label-pairs``, ``serve``, ``eval``), and how the
file-to-file scorers (``score``, ``bon``, ``label-pairs``) read and batch."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import option
from rewardkit.errors import UserError

DEVICE_HELP = (
    "Where the model runs: auto (a CUDA GPU when one is visible, else the CPU), cpu, "
    "cuda or cuda:N."
)
BATCH_SIZE_HELP = (
    "Texts per forward pass; 0 = the device's default (32 on a CPU; on a GPU as "
    "many as fit in 65,536 padded tokens). Does not change any score."
)


@dataclass
class ModelLoadOptions:
    precision: str | None = option(
        None, "Override the model's precision.", choices=("fp32", "bf16")
    )
    max_length: int | None = option(None, "Override the model's max length.")
    device: str = option("auto", DEVICE_HELP)

    def load_kwargs(self) -> dict:
        """Keyword arguments of ``RewardModel.from_pretrained`` / ``RewardEnsemble``."""
        return {"precision": self.precision, "max_length": self.max_length, "device": self.device}


@dataclass
class FileScoringOptions(ModelLoadOptions):
    batch_size: int = option(0, BATCH_SIZE_HELP)
    on_bad_record: str = option(
        "error", "Stop at a bad record, or skip and count it.", choices=("error", "skip")
    )

    def require(self, command: str, *names: str) -> None:
        """One line naming the first of ``names`` left empty."""
        for name in names:
            if not getattr(self, name):
                raise UserError(f"--{name} is required (see rewardkit {command} --help)")
