"""``train --freeze-backbone [--ensemble K]``, ``--ensemble K`` after fine-tuning, members
mode, and the OOD statistics every run stores."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.data import pairs_to_jsonl  # noqa: E402
from rewardkit.errors import UserError  # noqa: E402
from rewardkit.eval.ood import STATS_FILE, FeatureStatistics  # noqa: E402
from rewardkit.model.ensemble import HEADS_FILE, MEMBERS_FILE  # noqa: E402
from rewardkit.model.features import head_parameters  # noqa: E402
from rewardkit.model.loading import load_reward_model  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from tiny_reward_models import tiny_bert_dir, toy_pairs  # noqa: E402


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("frozen")
    pairs_to_jsonl(root / "toy.jsonl", toy_pairs(64))
    return {
        "root": root,
        "backbone": str(tiny_bert_dir(root / "backbone")),
        "data": str(root / "toy.jsonl"),
    }


def _config(setup, out, **kwargs):
    base = dict(
        data=setup["data"],
        out=str(setup["root"] / out),
        backbone=setup["backbone"],
        max_length=128,
        eval_fraction=0.25,
        batch_size=8,
    )
    base.update(kwargs)
    return TrainConfig(**base)


def test_frozen_ensemble_end_to_end_with_a_cache_hit(setup):
    cache = str(setup["root"] / "cache")
    first = train(
        _config(setup, "frozen1", freeze_backbone=True, ensemble=3, feature_cache=cache), quiet=True
    )
    second = train(
        _config(setup, "frozen2", freeze_backbone=True, ensemble=3, feature_cache=cache), quiet=True
    )
    assert first.metrics["frozen_backbone"]["cache_hit"] == {"train": False, "eval": False}
    assert second.metrics["frozen_backbone"]["cache_hit"] == {"train": True, "eval": True}
    assert second.metrics["accuracy"] == first.metrics["accuracy"] >= 0.9
    out = first.out
    for name in (HEADS_FILE, STATS_FILE, "model.safetensors", "metrics.json", "rewardkit.json"):
        assert (out / name).is_file(), name
    note = json.loads((out / "rewardkit.json").read_text())["ensemble"]
    assert note["k"] == 3 and note["form"] == "heads"
    scores = load_reward_model(out).score("Tell me about tea.", ["Happy to help with tea.", "No."])
    # the saved head is the exact mean of the heads: its reward is the members' mean
    assert np.allclose(scores.rewards, scores.members.mean(axis=0), atol=1e-5)
    assert scores.members.shape == (3, 2) and scores.spread.max() > 0
    assert first.metrics["ensemble_training"]["k"] == 3


def test_frozen_single_head_and_no_cache(setup):
    result = train(
        _config(setup, "frozen_single", freeze_backbone=True, feature_cache="off", head_l2=1e-2),
        quiet=True,
    )
    assert not (result.out / HEADS_FILE).exists()
    assert result.metrics["frozen_backbone"]["cache"] == "off"
    assert result.metrics["frozen_backbone"]["l2"] == 1e-2


def test_finetune_then_bootstrap_heads_replace_the_trained_head(setup):
    result = train(_config(setup, "ft_heads", ensemble=3, max_steps=3, lr=1e-3), quiet=True)
    note = result.metrics["ensemble_training"]
    assert note["trained_head_accuracy"] is not None and note["mean_head_accuracy"] is not None
    scorer = load_reward_model(result.out)
    assert scorer.kind == "heads" and scorer.k == 3
    w, b = head_parameters(scorer.primary.model)
    weight, bias = scorer.heads.weight, scorer.heads.bias
    assert np.allclose(w, weight.mean(axis=0), atol=1e-6) and b == pytest.approx(bias.mean())
    stats = FeatureStatistics.load(result.out)
    assert stats.spread_threshold is not None and stats.heldout["fraction_flagged"] is not None
    assert result.metrics["ood"]["in_distribution_fraction_flagged"] == pytest.approx(
        stats.heldout["fraction_flagged"]
    )


def test_plain_training_stores_feature_statistics_unless_told_not_to(setup):
    result = train(_config(setup, "plain", max_steps=2), quiet=True)
    stats = FeatureStatistics.load(result.out)
    assert stats is not None and stats.spread_threshold is None
    # the stored mean is the mean of the training features of the saved model
    assert stats.mean.shape == (32,) and np.isfinite(stats.distance_threshold)
    off = train(_config(setup, "plain_off", max_steps=2, proxy_eval=False), quiet=True)
    assert not (off.out / STATS_FILE).exists() and "ood" not in off.metrics


def test_members_mode_trains_k_models(setup):
    result = train(
        _config(setup, "members", ensemble=2, ensemble_mode="members", max_steps=2), quiet=True
    )
    manifest = json.loads((result.out / MEMBERS_FILE).read_text())
    assert manifest["members"] == ["member-0", "member-1"] and manifest["seeds"] == [0, 1]
    assert manifest["spread_threshold"] > 0
    scorer = load_reward_model(result.out)
    assert scorer.kind == "members" and scorer.k == 2
    assert result.metrics["uncertainty"]["members"] == 2


def test_frozen_members_is_refused(setup):
    with pytest.raises(UserError, match="ensemble-mode heads"):
        _config(setup, "bad", freeze_backbone=True, ensemble=2, ensemble_mode="members")
    with pytest.raises(UserError):
        _config(setup, "bad", ensemble=0)
