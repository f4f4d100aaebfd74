"""Reward servers for the tests: tiny models served on 127.0.0.1 (a free port) in a thread."""

import numpy as np
import pytest

from rewardkit.model import RewardModel
from rewardkit.serve import ScoringModel, ServeConfig, create_app
from rewardkit.serve.background import BackgroundServer


@pytest.fixture(scope="session")
def trained_rm_dir(tmp_path_factory, tiny_bert_dir, world_files):
    """The tiny BERT trained for 4 steps on the small demo world (so its rewardkit.json has a
    measured normalization and a data fingerprint)."""
    from rewardkit.train import TrainConfig, train

    out = tmp_path_factory.mktemp("trained-rm") / "model"
    train(
        TrainConfig(
            data=str(world_files["train"]),
            eval_data=str(world_files["eval"]),
            out=str(out),
            backbone=str(tiny_bert_dir),
            max_length=128,
            batch_size=4,
            lr=1e-3,
            seed=0,
            threads=1,
            max_steps=4,
        ),
        quiet=True,
    )
    return out


@pytest.fixture(scope="session")
def served_heads_ensemble_dir(tmp_path_factory, tiny_bert_rm_dir):
    """``tiny_bert_rm_dir`` + ``ensemble_heads.safetensors``: 3 heads whose mean is the saved
    head (the model's head ± zero-mean noise)."""
    import shutil

    from rewardkit.model.ensemble import save_ensemble_heads
    from rewardkit.model.features import head_parameters

    out = tmp_path_factory.mktemp("served-ensemble") / "model"
    shutil.copytree(tiny_bert_rm_dir, out)
    weight, bias = head_parameters(RewardModel.from_pretrained(out).model)
    noise = np.random.default_rng(1).normal(0, 0.5, size=(3, weight.shape[0]))
    noise -= noise.mean(axis=0)
    save_ensemble_heads(out, weight[None, :] + noise, np.full(3, bias))
    return out


@pytest.fixture(scope="session")
def bert_rm(tiny_bert_rm_dir):
    return RewardModel.from_pretrained(tiny_bert_rm_dir)


class FakeEnsemble:
    """A RewardModel that reports a made-up spread (|r| / 10), as an ensemble would."""

    def __init__(self, model):
        self._model = model
        self.k = 3

    def __getattr__(self, name):
        return getattr(self._model, name)

    def score_ids_with_spread(self, sequences, batch_size=32):
        rewards = self._model.score_ids(sequences, batch_size=batch_size)
        return rewards, np.abs(rewards) / 10


@pytest.fixture
def fake_ensemble(bert_rm):
    """``bert_rm`` posing as a 3-member ensemble whose spread is |r| / 10."""
    return FakeEnsemble(bert_rm)


@pytest.fixture
def start_server():
    """``start_server(served, token=None, **settings)`` → a running BackgroundServer (stopped
    at teardown); ``served`` is a RewardModel, a ScoringModel or a fake."""
    servers = []

    def start(served, *, token=None, **settings):
        app = create_app(served, ServeConfig(**settings), token=token)
        server = BackgroundServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def bert_server(start_server, tiny_bert_rm_dir):
    """The tiny BERT reward model (mean 0.25, std 2) served with default settings."""
    return start_server(ScoringModel.load(str(tiny_bert_rm_dir)))
