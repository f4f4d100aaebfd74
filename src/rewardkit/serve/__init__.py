"""The reward server (own ``/score`` API + OpenRLHF's ``/get_reward``), its micro-batcher and
its Python client.

    from rewardkit.serve import ScoringModel, ServeConfig, create_app
    app = create_app(ScoringModel.load("runs/rm"), ServeConfig(max_wait_ms=5))
"""

from rewardkit.serve.app import create_app
from rewardkit.serve.client import RewardClient, RewardServerError
from rewardkit.serve.config import ServeConfig
from rewardkit.serve.scoring import ScoringModel

__all__ = ["RewardClient", "RewardServerError", "ScoringModel", "ServeConfig", "create_app"]
