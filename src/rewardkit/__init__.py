"""rewardkit: pairwise human preferences → a reward model you can measure, trust and serve."""

__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import rewardkit` stays cheap for the CLI's --help
    if name == "RewardModel":
        from rewardkit.model.reward_model import RewardModel

        return RewardModel
    if name in ("train", "TrainConfig"):
        from rewardkit.train import config, trainer

        return {"train": trainer.train, "TrainConfig": config.TrainConfig}[name]
    raise AttributeError(name)


__all__ = ["RewardModel", "TrainConfig", "train", "__version__"]
