"""``rewardkit.client.RewardClient``: the Python client of ``rewardkit serve``.

It lives in :mod:`rewardkit.serve.client`; this module is its short import path.
"""

from rewardkit.serve.client import RewardClient, RewardServerError

__all__ = ["RewardClient", "RewardServerError"]
