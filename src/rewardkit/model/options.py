"""How a saved reward model is loaded for scoring: the options that ``rewardkit score``,
``bon``, ``label-pairs`` and ``serve`` share (one declaration, one help text)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import option

DEVICE_HELP = ("Where the model runs: auto (a CUDA GPU when one is visible, else the CPU), cpu, "
               "cuda or cuda:N.")


@dataclass
class ModelLoadOptions:
    precision: str | None = option(None, "Override the model's precision.",
                                   choices=("fp32", "bf16"))
    max_length: int | None = option(None, "Override the model's max length.")
    device: str = option("auto", DEVICE_HELP)

    def load_kwargs(self) -> dict:
        """Keyword arguments of ``RewardModel.from_pretrained`` / ``RewardEnsemble``."""
        return {"precision": self.precision, "max_length": self.max_length,
                "device": self.device}
