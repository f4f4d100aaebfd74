"""Training reward models: losses, batching, the recipes (fine-tune, frozen features, members),
checkpoints and what a run saves.

``TrainConfig`` is light; ``train`` and ``TrainResult`` load torch and transformers on first
use (PEP 562), so ``rewardkit --help`` does not pay for them."""

from rewardkit.exports import lazy_exports
from rewardkit.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train"]

__getattr__ = lazy_exports(
    __name__, "rewardkit.train.trainer:train rewardkit.train.outputs:TrainResult"
)
