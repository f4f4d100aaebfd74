"""The on-disk feature cache: each distinct text embedded once, keyed by the backbone's weights
(not its head) and the exact token ids."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.model.feature_cache import (  # noqa: E402
    FeatureCache,
    backbone_fingerprint,
    cached_features,
)
from rewardkit.model.features import head_parameters, set_head_parameters  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from tiny_reward_models import tiny_bert_dir, toy_pairs  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tiny_bert_dir(tmp_path_factory.mktemp("bert") / "backbone")
    return RewardModel.from_backbone(str(folder), max_length=128)


def _sequences(model, n=10):
    encoded, _ = model.encoder.encode_pairs(toy_pairs(n))
    return [e.chosen_ids for e in encoded] + [e.rejected_ids for e in encoded]


def test_cache_hits_and_keys(model, tmp_path):
    sequences = _sequences(model, 6)
    cache = FeatureCache(tmp_path / "cache")
    first, hit = cached_features(model, sequences, cache=cache)
    assert not hit
    repeated, hit = cached_features(model, sequences + sequences[:2], cache=cache)
    assert hit  # the same distinct texts: each is embedded once, duplicates are copies
    assert np.array_equal(repeated[-2:], first[:2])
    fewer, hit = cached_features(model, sequences[:-1], cache=cache)
    assert not hit  # other texts: another key
    again, hit = cached_features(model, sequences, cache=cache)
    assert hit and np.array_equal(again, first)
    key = backbone_fingerprint(model)
    w, b = head_parameters(model.model)
    try:
        set_head_parameters(model.model, w * 2, 0.0)
        assert backbone_fingerprint(model) == key  # the head does not change features
    finally:
        set_head_parameters(model.model, w, b)
