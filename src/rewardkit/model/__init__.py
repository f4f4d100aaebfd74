"""Reward models: HF sequence-classification backbones, text templates, encoding, saving, and
the one loader and scorer.

    from rewardkit.model import load_reward_model
    scorer = load_reward_model("runs/hh")          # a model, heads or members ensemble
    scores = scorer.score(prompts, responses)      # .rewards, .spread, .members

``RewardModel``, ``Scorer``, ``Scores`` and ``load_reward_model`` load torch and transformers on
first use (PEP 562)."""

from rewardkit.exports import lazy_exports
from rewardkit.model.sidecar import RewardKitInfo
from rewardkit.model.template import DEFAULT_CHAT_TEMPLATE, TextTemplate

__all__ = [
    "RewardModel",
    "RewardKitInfo",
    "Scorer",
    "Scores",
    "TextTemplate",
    "DEFAULT_CHAT_TEMPLATE",
    "load_reward_model",
]

__getattr__ = lazy_exports(
    __name__,
    "rewardkit.model.reward_model:RewardModel rewardkit.model.scorer:Scorer "
    "rewardkit.model.scores:Scores rewardkit.model.loading:load_reward_model",
)
