"""A factory of small TrainConfigs: the tiny BERT on the small demo world."""

import pytest

from rewardkit.train import TrainConfig


@pytest.fixture(scope="session")
def tiny_config(tiny_bert_dir, world_files):
    """``tiny_config(out, **overrides)`` → TrainConfig: tiny BERT, world train/eval files
    (32/12 pairs), max_length 128, batch 4, lr 1e-3, seed 0, one CPU thread."""

    def make(out, **overrides) -> TrainConfig:
        options = dict(
            data=str(world_files["train"]),
            eval_data=str(world_files["eval"]),
            out=str(out),
            backbone=str(tiny_bert_dir),
            max_length=128,
            batch_size=4,
            lr=1e-3,
            seed=0,
            threads=1,
        )
        options.update(overrides)
        return TrainConfig(**options)

    return make
