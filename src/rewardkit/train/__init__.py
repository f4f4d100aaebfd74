"""Training reward models: losses, batching, the accelerate-based loop, checkpoints."""

from rewardkit.train.config import TrainConfig
from rewardkit.train.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "train"]
