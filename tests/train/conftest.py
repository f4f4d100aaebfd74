"""A factory of small TrainConfigs (the tiny BERT on the small demo world), and a tiny random
Llama reward model for the training forwards."""

import pytest
import torch

from rewardkit.model.tiny import TINY_LLAMA
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


@pytest.fixture(scope="session")
def cli_args():
    """``cli_args(config)`` → the ``rewardkit train`` arguments that give ``config``: one flag
    per option that differs from its default."""
    import dataclasses

    from rewardkit.config import flag_name

    def make(config: TrainConfig) -> list[str]:
        args = ["train"]
        for field in dataclasses.fields(config):
            value = getattr(config, field.name)
            if value == field.default:
                continue
            if isinstance(value, bool):
                args.append(flag_name(field.name) if value else f"--no-{flag_name(field.name)[2:]}")
            else:
                args += [flag_name(field.name), str(value)]
        return args

    return make


@pytest.fixture
def tiny_llama():
    """A random 2-layer ``LlamaForSequenceClassification`` (hidden 32, 4 heads, 2 kv heads,
    vocabulary 100, pad id 0), fp32, seeded."""
    from transformers import LlamaConfig, LlamaForSequenceClassification

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=100, pad_token_id=0, num_labels=1, **TINY_LLAMA)
    return LlamaForSequenceClassification(config).float()
