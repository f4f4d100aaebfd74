"""The version of rewardkit (written into every saved model's rewardkit.json)."""

__version__ = "0.1.0"
