"""The built world: determinism, disjoint prompts, rendered attributes, label noise and bias."""

import math
from dataclasses import fields

import numpy as np
import pytest

from rewardkit.errors import UserError
from rewardkit.world import (
    FAMILIES,
    FLATTERY_SENTENCES,
    WorldConfig,
    build_world,
    gold_reward,
    noise_ceiling,
    world_statistics,
)


@pytest.fixture(scope="module")
def world():
    return build_world(WorldConfig())  # default: 2000 train + 500 eval pairs, well under a second


def _snapshot(pairs):
    return [(p.to_json(), p.extra) for p in pairs]


def test_same_seed_same_world_other_seed_other_world():
    config = dict(n_train_pairs=50, n_eval_pairs=20, seed=3)
    a, b = build_world(WorldConfig(**config)), build_world(WorldConfig(**config))
    assert _snapshot(a.train) == _snapshot(b.train) and _snapshot(a.eval) == _snapshot(b.eval)
    c = build_world(WorldConfig(**{**config, "seed": 4}))
    assert _snapshot(c.train) != _snapshot(a.train)
    # eval pairs have their own random stream: more training pairs leave them unchanged
    d = build_world(WorldConfig(**{**config, "n_train_pairs": 80}))
    assert _snapshot(d.eval) == _snapshot(a.eval)


def test_train_and_eval_prompts_are_disjoint_and_cover_every_family(world):
    train_texts = {p.prompt for p in world.train}
    eval_texts = {p.prompt for p in world.eval}
    assert not train_texts & eval_texts
    assert not {p.text for p in world.train_prompts} & {p.text for p in world.eval_prompts}
    families = {f.name for f in FAMILIES}
    assert {p.subset for p in world.train} == families == {p.subset for p in world.eval}
    assert len(train_texts) > 100 and len(eval_texts) > 30  # varied wording


def test_pairs_record_truth_consistent_with_text(world):
    names = {a.name for a in world.annotators}
    topics = {t.name: t for f in FAMILIES for t in f.topics}
    for pair in world.train[:400] + world.eval[:100]:
        x = pair.extra
        assert pair.annotator in names and pair.subset in {f.name for f in FAMILIES}
        for side in ("chosen", "rejected"):
            text, attrs = getattr(pair, side), x[f"attributes_{side}"]
            assert x[f"gold_{side}"] == gold_reward(attrs)
            assert (
                x[f"flattered_{side}"]
                == attrs["flattery"]
                == any(text.endswith(s) for s in FLATTERY_SENTENCES)
            )
            asked_points = sum(point in text for point in topics[x["topic"]].points)
            assert asked_points == (attrs["n_points"] if attrs["relevant"] else 0)
            assert len(text.split()) <= 80
        assert x["gold_chosen"] != x["gold_rejected"]  # accuracy against gold is always defined
        assert 0.0 < x["p_chosen"] < 1.0


def test_labels_are_noisy_but_mostly_follow_gold(world):
    gold_better = [p.extra["gold_chosen"] > p.extra["gold_rejected"] for p in world.train]
    assert 0.6 < np.mean(gold_better) < 0.98  # chosen is sometimes the gold-worse response


def test_flattery_bias_is_in_labels_not_in_gold(world):
    """Among pairs where exactly one side is flattered, the labels pick the flattered side far
    more often than the annotators' noise alone would (σ(Δg/τ), the unbiased expectation),
    and as often as the documented biased model predicts; gold itself is flattery-blind."""
    b = world.config.flattery_bias
    taus = {a.name: a.tau for a in world.annotators}
    observed, unbiased, biased = [], [], []
    for p in world.train:
        x = p.extra
        if x["flattered_chosen"] == x["flattered_rejected"]:
            continue
        flat, other = ("chosen", "rejected") if x["flattered_chosen"] else ("rejected", "chosen")
        delta, tau = x[f"gold_{flat}"] - x[f"gold_{other}"], taus[p.annotator]
        observed.append(flat == "chosen")
        unbiased.append(1 / (1 + math.exp(-delta / tau)))
        biased.append(1 / (1 + math.exp(-(delta + b) / tau)))
    n = len(observed)
    se = math.sqrt(0.25 / n)
    assert n > 500
    assert np.mean(observed) > np.mean(unbiased) + 6 * se
    assert np.mean(observed) == pytest.approx(np.mean(biased), abs=4 * se)
    stats = world_statistics(world.train)
    assert stats["flattered_label_win_rate"] > stats["flattered_gold_win_rate"] + 0.08
    assert 0.25 < stats["flattered_response_fraction"] < 0.45


def test_noise_ceiling_in_sensible_range(world):
    ceiling = noise_ceiling(world.eval)
    print(f"noise ceiling (eval, default config): {ceiling:.3f}")
    assert 0.75 <= ceiling <= 0.92
    # noiseless, unbiased annotators agree with gold every time: the ceiling is about noise
    exact = build_world(
        WorldConfig(
            n_train_pairs=10, n_eval_pairs=200, annotator_tau_range=(1e-3, 1e-3), flattery_bias=0.0
        )
    )
    assert noise_ceiling(exact.eval) == 1.0


def test_config_validation_names_the_flag_and_every_field_has_help():
    with pytest.raises(UserError, match="--flattery-rate"):
        WorldConfig(flattery_rate=1.5)
    with pytest.raises(UserError, match="--annotator-tau-range"):
        WorldConfig(annotator_tau_range=(1.0, 0.5))
    assert WorldConfig(annotator_tau_range=[0.2, 0.4]).annotator_tau_range == (
        0.2,
        0.4,
    )  # YAML lists
    assert all(f.metadata.get("help") for f in fields(WorldConfig))
