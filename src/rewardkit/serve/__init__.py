"""The reward server (own ``/score`` API + OpenRLHF's ``/get_reward``), its micro-batcher and
its Python client.

    from rewardkit.serve import ScoringModel, ServeConfig, create_app
    app = create_app(ScoringModel.load("runs/rm"), ServeConfig(max_wait_ms=5))

Names load on first use (PEP 562): the CLI reads ``ServeConfig`` without importing FastAPI,
torch or transformers.
"""

from rewardkit.exports import lazy_exports
from rewardkit.serve.config import ServeConfig

__all__ = ["RewardClient", "RewardServerError", "ScoringModel", "ServeConfig", "create_app"]

__getattr__ = lazy_exports(
    __name__,
    "rewardkit.serve.app:create_app rewardkit.serve.client:RewardClient "
    "rewardkit.serve.client:RewardServerError rewardkit.serve.scoring:ScoringModel",
)
