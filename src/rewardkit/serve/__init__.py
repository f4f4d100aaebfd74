"""The reward server (own ``/score`` API + OpenRLHF's ``/get_reward``), its micro-batcher and
its Python client.

    from rewardkit.serve import ScoringModel, ServeConfig, create_app
    app = create_app(ScoringModel.load("runs/rm"), ServeConfig(max_wait_ms=5))

Names load on first use (PEP 562): the CLI reads ``ServeConfig`` without importing FastAPI,
torch or transformers.
"""

from rewardkit.serve.config import ServeConfig

__all__ = ["RewardClient", "RewardServerError", "ScoringModel", "ServeConfig", "create_app"]

_HOMES = {
    "create_app": "rewardkit.serve.app",
    "RewardClient": "rewardkit.serve.client",
    "RewardServerError": "rewardkit.serve.client",
    "ScoringModel": "rewardkit.serve.scoring",
}


def __getattr__(name: str):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rewardkit.serve' has no attribute {name!r}")
