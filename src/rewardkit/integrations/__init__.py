"""Adapters that let other RLHF libraries consume a rewardkit reward model
(:mod:`rewardkit.integrations.trl`: TRL's ``reward_funcs``)."""
