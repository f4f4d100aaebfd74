"""Candidate files and a heads ensemble built on the tiny BERT reward model."""

import json
import shutil

import numpy as np
import pytest


@pytest.fixture(scope="session")
def heads_ensemble_dir(tmp_path_factory, tiny_bert_rm_dir):
    """``tiny_bert_rm_dir`` plus ``ensemble_heads.safetensors``: 3 heads = the model's head
    ± zero-mean noise, so their mean is exactly the saved head (the ensemble format, form b)."""
    from rewardkit.model import RewardModel
    from rewardkit.model.ensemble import LinearHeads, save_ensemble_heads
    from rewardkit.model.features import head_parameters

    out = tmp_path_factory.mktemp("heads-ensemble") / "model"
    shutil.copytree(tiny_bert_rm_dir, out)
    weight, bias = head_parameters(RewardModel.from_pretrained(out).model)
    noise = np.random.default_rng(0).normal(0, 0.5, size=(3, weight.shape[0]))
    noise -= noise.mean(axis=0)
    save_ensemble_heads(
        out, LinearHeads(weight[None, :] + noise, np.array([bias, bias + 0.1, bias - 0.1]))
    )
    return out


@pytest.fixture
def write_candidates_file(tmp_path):
    """``write_candidates_file(rows, name="cands.jsonl")`` → path (str); str rows verbatim."""

    def write(rows, name="cands.jsonl"):
        path = tmp_path / name
        path.write_text(
            "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
            encoding="utf-8",
        )
        return str(path)

    return write
