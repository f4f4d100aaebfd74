"""Reward models: HF sequence-classification backbones, text templates, encoding, saving."""

from rewardkit.model.reward_model import RewardModel
from rewardkit.model.sidecar import RewardKitInfo
from rewardkit.model.template import DEFAULT_CHAT_TEMPLATE, TextTemplate

__all__ = ["RewardModel", "RewardKitInfo", "TextTemplate", "DEFAULT_CHAT_TEMPLATE"]
