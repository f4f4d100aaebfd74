"""Reward models: HF sequence-classification backbones, text templates, encoding, saving.

``RewardModel`` loads torch and transformers on first use (PEP 562)."""

from rewardkit.model.sidecar import RewardKitInfo
from rewardkit.model.template import DEFAULT_CHAT_TEMPLATE, TextTemplate

__all__ = ["RewardModel", "RewardKitInfo", "TextTemplate", "DEFAULT_CHAT_TEMPLATE"]


def __getattr__(name: str):
    if name == "RewardModel":
        from rewardkit.model.reward_model import RewardModel

        return RewardModel
    raise AttributeError(f"module 'rewardkit.model' has no attribute {name!r}")
