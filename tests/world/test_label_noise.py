"""Planted label flips: exactly the asked share, recorded in gold.jsonl, eval untouched."""

import json

import numpy as np
import pytest

from rewardkit.errors import UserError
from rewardkit.world import WorldConfig, build_world, load_world_split, write_world
from rewardkit.world.label_noise import FLIP_FIELD


def test_a_fifth_of_the_train_labels_flipped_and_recorded(tmp_path):
    clean = build_world(WorldConfig(n_train_pairs=200, n_eval_pairs=40, seed=3))
    noisy = build_world(
        WorldConfig(n_train_pairs=200, n_eval_pairs=40, seed=3, label_flip_rate=0.2)
    )
    flipped = [p.extra[FLIP_FIELD] for p in noisy.train]
    assert sum(flipped) == 40
    for before, after in zip(clean.train, noisy.train):
        if after.extra[FLIP_FIELD]:
            assert (after.chosen, after.rejected) == (before.rejected, before.chosen)
            assert after.extra["gold_chosen"] == before.extra["gold_rejected"]
            assert after.extra["p_chosen"] == pytest.approx(1 - before.extra["p_chosen"])
        else:
            assert (after.chosen, after.rejected) == (before.chosen, before.rejected)
    assert [p.to_json() for p in noisy.eval] == [p.to_json() for p in clean.eval]
    paths = write_world(noisy, tmp_path)
    gold = [json.loads(line) for line in paths["gold"].read_text().splitlines()]
    assert [g[FLIP_FIELD] for g in gold if g["split"] == "train"] == flipped
    assert not any(g[FLIP_FIELD] for g in gold if g["split"] == "eval")
    read = load_world_split(tmp_path, "train")
    assert [p.extra[FLIP_FIELD] for p in read] == flipped


def test_no_flips_by_default_and_the_rate_is_checked():
    world = build_world(WorldConfig(n_train_pairs=50, n_eval_pairs=10, seed=1))
    assert not any(p.extra[FLIP_FIELD] for p in world.train)
    assert np.mean([p.extra["gold_chosen"] > p.extra["gold_rejected"] for p in world.train]) > 0.5
    with pytest.raises(UserError, match="--label-flip-rate must be a probability"):
        WorldConfig(label_flip_rate=1.5)
