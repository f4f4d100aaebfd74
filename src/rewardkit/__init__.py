"""rewardkit: pairwise human preferences → a reward model you can measure, trust and serve.

    import rewardkit
    result = rewardkit.train(rewardkit.TrainConfig(data="pairs.jsonl", out="runs/rm"))
    rm = rewardkit.RewardModel.from_pretrained("runs/rm")      # one model
    scorer = rewardkit.load_reward_model("runs/rm")            # any model or ensemble

Names load on first use (:mod:`rewardkit.exports`), so ``import rewardkit`` stays cheap.
"""

from rewardkit.exports import lazy_exports
from rewardkit.version import __version__

__all__ = ["RewardModel", "TrainConfig", "load_reward_model", "train", "__version__"]

__getattr__ = lazy_exports(
    __name__,
    "rewardkit.model.reward_model:RewardModel rewardkit.model.loading:load_reward_model "
    "rewardkit.train.trainer:train rewardkit.train.config:TrainConfig",
)
