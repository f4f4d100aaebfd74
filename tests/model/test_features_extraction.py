"""Head-input features (``forward_sequences(features=True)``) reproduce the model's own reward;
setting the head moves rewards as the features predict."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.model.features import (  # noqa: E402
    classification_head,
    head_parameters,
    rewards_from_features,
    set_head_parameters,
)
from rewardkit.model.inference import forward_sequences  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from tiny_reward_models import tiny_bert_dir, tiny_llama_dir, toy_pairs  # noqa: E402


@pytest.fixture(scope="module", params=["bert", "llama"])
def model(request, tmp_path_factory):
    build = tiny_bert_dir if request.param == "bert" else tiny_llama_dir
    folder = build(tmp_path_factory.mktemp(request.param) / "backbone")
    return RewardModel.from_backbone(str(folder), max_length=128)


def extract_features(model, sequences, batch_size=0):
    out = forward_sequences(model, sequences, batch_size=batch_size, features=True)
    return out.features, out.rewards


def rewards_of(model, sequences, batch_size=0):
    return forward_sequences(model, sequences, batch_size=batch_size).rewards


def _sequences(model, n=10):
    encoded, _ = model.encoder.encode_pairs(toy_pairs(n))
    return [e.chosen_ids for e in encoded] + [e.rejected_ids for e in encoded]


def test_the_mean_head_on_features_reproduces_the_reward(model):
    """w·f + b equals the model's reward to 1e-5 in fp32, whatever the batch size."""
    sequences = _sequences(model)
    features, rewards = extract_features(model, sequences, batch_size=3)
    w, b = head_parameters(model.model)
    assert np.allclose(
        rewards_from_features(features, w, b), rewards_of(model, sequences), atol=1e-5
    )
    assert np.allclose(rewards, rewards_of(model, sequences, batch_size=7), atol=1e-5)
    expected_head = "score" if model.info.scoring["rule"] == "last-token" else "classifier"
    assert classification_head(model.model)[0] == expected_head


def test_features_copied_to_the_host_in_several_flushes_land_in_input_order(model, monkeypatch):
    """With a copy to the host every 2 batches of 3 (20 texts: 7 batches, 4 flushes), features
    and rewards equal those of one flush at the end."""
    import rewardkit.model.inference as inference_module

    sequences = _sequences(model)
    once_features, once_rewards = extract_features(model, sequences, batch_size=3)
    monkeypatch.setattr(inference_module, "FLUSH_EVERY", 2)
    features, rewards = extract_features(model, sequences, batch_size=3)
    assert np.array_equal(features, once_features) and np.array_equal(rewards, once_rewards)
    assert np.allclose(rewards, rewards_of(model, sequences), atol=1e-5)


def test_a_feature_map_measures_each_flush_and_keeps_only_its_values(model, monkeypatch):
    """``feature_map`` (here three heads' rewards) sees the features a flush at a time (every 2
    batches of 3: at most 6 rows), no ``(N, H)`` features are kept, and its values are those
    of the whole matrix, bit for bit, in input order."""
    import rewardkit.model.inference as inference_module

    sequences = _sequences(model)
    features, rewards = extract_features(model, sequences, batch_size=3)
    heads = np.random.default_rng(0).normal(size=(3, features.shape[1]))
    blocks = []

    def three_heads(rows):
        blocks.append(len(rows))
        return rewards_from_features(rows, heads, np.zeros(3)).T

    monkeypatch.setattr(inference_module, "FLUSH_EVERY", 2)
    out = forward_sequences(model, sequences, batch_size=3, feature_map=three_heads)
    assert out.features is None and out.mapped.shape == (len(sequences), 3)
    assert np.array_equal(out.mapped, rewards_from_features(features, heads, np.zeros(3)).T)
    assert np.array_equal(out.rewards, rewards)
    assert blocks[0] == 0 and max(blocks) <= 6 and sum(blocks) == len(sequences)


@pytest.mark.parametrize("heads", [1, 3])
def test_products_with_features_do_not_depend_on_the_rows_beside_them(heads):
    """Rewards of 301 feature rows computed whole equal, bit for bit, those computed in pieces
    of awkward sizes (a BLAS sums the rows past its last whole tile in another order; the row
    blocks of ``by_row_blocks`` keep every row in a whole tile)."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(301, 32)).astype(np.float32)
    weight = rng.normal(size=(heads, 32)) if heads > 1 else rng.normal(size=32)
    bias = rng.normal(size=heads) if heads > 1 else 0.5
    whole = rewards_from_features(features, weight, bias)
    for size in (1, 3, 7, 47, 49, 100):
        pieces = [
            rewards_from_features(features[start : start + size], weight, bias)
            for start in range(0, len(features), size)
        ]
        assert np.array_equal(np.concatenate(pieces, axis=-1), whole), size


def test_setting_a_head_changes_rewards_as_the_features_predict(model):
    sequences = _sequences(model, 4)
    features, _ = extract_features(model, sequences)
    w_old, b_old = head_parameters(model.model)
    rng = np.random.default_rng(0)
    w = rng.normal(size=features.shape[1])
    b = 0.0 if model.info.scoring["rule"] == "last-token" else 0.3  # decoders: bias-free head
    try:
        set_head_parameters(model.model, w, b)
        assert np.allclose(rewards_of(model, sequences), features @ w + b, atol=1e-4)
        many = rewards_from_features(features, np.stack([w, 2 * w]), np.array([b, 2 * b]))
        assert many.shape == (2, len(sequences)) and np.allclose(many[1], 2 * many[0], atol=1e-4)
    finally:
        set_head_parameters(model.model, w_old, b_old)
