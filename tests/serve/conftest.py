"""Reward servers for the tests: tiny models served on 127.0.0.1 (a free port) in a thread."""

import numpy as np
import pytest

from rewardkit.model import RewardModel
from rewardkit.model.scorer import Scorer
from rewardkit.model.scores import Scores
from rewardkit.serve import ScoringModel, ServeConfig, create_app
from rewardkit.serve.background import BackgroundServer


def _train_tiny_bert(out, tiny_bert_dir, world_files, **extra):
    """The tiny BERT trained for 4 steps on the small demo world, saved to ``out``."""
    from rewardkit.train import TrainConfig, train

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
            **extra,
        ),
        quiet=True,
    )
    return out


@pytest.fixture(scope="session")
def trained_rm_dir(tmp_path_factory, tiny_bert_dir, world_files):
    """The tiny BERT trained for 4 steps on the small demo world (so its rewardkit.json has a
    measured normalization and a data fingerprint)."""
    out = tmp_path_factory.mktemp("trained-rm") / "model"
    return _train_tiny_bert(out, tiny_bert_dir, world_files)


@pytest.fixture(scope="session")
def trained_heads_dir(tmp_path_factory, tiny_bert_dir, world_files):
    """The tiny BERT trained for 4 steps on the small demo world with ``--ensemble 3`` (bootstrap
    heads): a model with feature_stats.safetensors (per-text reference distances included), a
    spread threshold and a measured normalization, as ``rewardkit train`` saves it."""
    out = tmp_path_factory.mktemp("trained-heads") / "model"
    return _train_tiny_bert(out, tiny_bert_dir, world_files, ensemble=3)


@pytest.fixture(scope="session")
def served_heads_ensemble_dir(tmp_path_factory, tiny_bert_rm_dir):
    """``tiny_bert_rm_dir`` + ``ensemble_heads.safetensors``: 3 heads whose mean is the saved
    head (the model's head ± zero-mean noise)."""
    import shutil

    from rewardkit.model.ensemble import LinearHeads, save_ensemble_heads
    from rewardkit.model.features import head_parameters

    out = tmp_path_factory.mktemp("served-ensemble") / "model"
    shutil.copytree(tiny_bert_rm_dir, out)
    weight, bias = head_parameters(RewardModel.from_pretrained(out).model)
    noise = np.random.default_rng(1).normal(0, 0.5, size=(3, weight.shape[0]))
    noise -= noise.mean(axis=0)
    save_ensemble_heads(out, LinearHeads(weight[None, :] + noise, np.full(3, bias)))
    return out


@pytest.fixture(scope="session")
def bert_rm(tiny_bert_rm_dir):
    return RewardModel.from_pretrained(tiny_bert_rm_dir)


class FakeEnsemble(Scorer):
    """A single model posing as a 3-member ensemble: members ``r − a, r, r + a`` with
    ``a = |r|/10 · √1.5``, so the reward stays ``r`` and the spread (std, ddof 0) is
    ``|r| / 10``."""

    def __init__(self, model):
        super().__init__([model], source="fake ensemble")

    @property
    def kind(self) -> str:
        return "members"

    @property
    def k(self) -> int:
        return 3

    def score_ids(self, sequences, **kwargs):
        rewards = super().score_ids(sequences, **kwargs).rewards
        a = np.abs(rewards) / 10 * np.sqrt(1.5)
        return Scores(rewards, np.stack([rewards - a, rewards, rewards + a]))


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
