"""Training reward models: losses, batching, the accelerate-based loop, checkpoints.

``TrainConfig`` is light; ``train`` and ``TrainResult`` load torch and transformers on first
use (PEP 562), so ``rewardkit --help`` does not pay for them."""

from rewardkit.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train"]


def __getattr__(name: str):
    if name in ("train", "TrainResult"):
        from rewardkit.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'rewardkit.train' has no attribute {name!r}")
