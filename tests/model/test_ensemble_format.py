"""The ensemble formats — heads (form b), members (form a), combined folders — opened by the one
loader and scored by the one scorer."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.errors import UserError  # noqa: E402
from rewardkit.model.ensemble import (  # noqa: E402
    HEADS_FILE,
    LinearHeads,
    is_ensemble_dir,
    load_ensemble_heads,
    save_ensemble_heads,
    write_members_manifest,
)
from rewardkit.model.features import set_head_parameters  # noqa: E402
from rewardkit.model.loading import load_reward_model  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from tiny_reward_models import tiny_bert_dir, toy_pairs  # noqa: E402

PROMPTS = ["Tell me about tea.", "Tell me about tea.", "How do bikes work?"]
RESPONSES = ["Happy to help with tea.", "No.", "Bikes have two wheels and pedals."]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensembles")
    out = {}
    for seed in (0, 1):
        model = RewardModel.from_backbone(
            str(tiny_bert_dir(root / f"bert{seed}", seed=seed)), max_length=128
        )
        model.save_pretrained(root / f"model{seed}")
        out[f"model{seed}"] = root / f"model{seed}"
    # form b: three random heads whose exact mean becomes the saved head
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(3, 32)), rng.normal(size=3)
    model = RewardModel.from_pretrained(out["model0"])
    set_head_parameters(model.model, weight.mean(axis=0), bias.mean())
    model.info.ensemble = {"form": "heads", "k": 3, "file": HEADS_FILE}
    model.save_pretrained(root / "heads")
    save_ensemble_heads(root / "heads", LinearHeads(weight, bias))
    out.update(heads=root / "heads", weight=weight, bias=bias)
    # form a: a folder of members
    members = root / "members"
    members.mkdir()
    for seed in (0, 1):
        RewardModel.from_pretrained(out[f"model{seed}"]).save_pretrained(members / f"member-{seed}")
    write_members_manifest(members, ["member-0", "member-1"], seeds=[0, 1])
    out["members"] = members
    return out


def test_heads_form_scores_every_head_on_shared_features(folders):
    scorer = load_reward_model(folders["heads"])
    assert scorer.kind == "heads" and scorer.k == 3 and is_ensemble_dir(folders["heads"])
    scores = scorer.score(PROMPTS, RESPONSES)
    plain = RewardModel.from_pretrained(folders["heads"]).score(PROMPTS, RESPONSES)
    # the saved model's own reward (what any HF tool computes) is the members' mean
    assert np.allclose(scores.rewards, plain, atol=1e-6)
    assert np.allclose(scores.members.mean(axis=0), plain, atol=1e-5)
    assert scores.members.shape == (3, 3)
    assert np.allclose(scores.spread, scores.members.std(axis=0))
    assert scores.spread.min() > 0
    heads = load_ensemble_heads(folders["heads"])
    assert np.allclose(heads.weight, folders["weight"], atol=1e-6)
    assert json.loads((folders["heads"] / "rewardkit.json").read_text())["ensemble"]["k"] == 3


def test_members_form_is_the_mean_of_member_models(folders):
    scorer = load_reward_model(folders["members"])
    assert scorer.kind == "members" and scorer.k == 2
    scores = scorer.score(PROMPTS, RESPONSES)
    expected = np.stack(
        [
            RewardModel.from_pretrained(folders[f"model{s}"]).score(PROMPTS, RESPONSES)
            for s in (0, 1)
        ]
    )
    assert np.allclose(scores.members, expected, atol=1e-6)
    assert np.allclose(scores.rewards, expected.mean(axis=0))
    assert np.allclose(scores.spread, expected.std(axis=0))


def test_combined_separate_models(folders):
    spec = f"{folders['model0']},{folders['model1']}"
    scorer = load_reward_model(spec)
    assert scorer.kind == "members" and scorer.k == 2
    scored = scorer.score_pairs(toy_pairs(6))
    assert scored.members_chosen.shape == (2, 6)
    assert np.allclose(scored.r_chosen, scored.members_chosen.mean(axis=0))
    assert np.allclose(scored.spread, (scored.members_chosen - scored.members_rejected).std(axis=0))


def test_members_that_encode_differently_are_scored_each_with_its_own_encoding(folders, tmp_path):
    """A member with another max length cuts long prompts elsewhere: text scoring encodes for
    each member; token-id scoring (one encoding for all, as the server does) is refused."""
    short = tmp_path / "short"
    RewardModel.from_pretrained(folders["model1"], max_length=12).save_pretrained(short)
    scorer = load_reward_model([folders["model0"], short])
    long_prompt = "Tell me about tea and bikes and rain and maps and bread and clocks."
    scores = scorer.score(long_prompt, RESPONSES[:2])
    alone = RewardModel.from_pretrained(short).score(long_prompt, RESPONSES[:2])
    assert np.allclose(scores.members[1], alone, atol=1e-6)
    with pytest.raises(UserError, match="tokenizes differently"):
        scorer.score_ids([[101, 102]])


def test_single_model_has_zero_spread(folders):
    scorer = load_reward_model(folders["model0"])
    assert scorer.kind == "single" and scorer.k == 1
    scores = scorer.score(PROMPTS[0], RESPONSES[:2])
    assert scores.members.shape == (1, 2) and not scores.spread.any()


def test_heads_of_the_wrong_width_are_refused(folders, tmp_path):
    bad = tmp_path / "bad"
    RewardModel.from_pretrained(folders["model0"]).save_pretrained(bad)
    save_ensemble_heads(bad, LinearHeads(np.zeros((2, 7)), np.zeros(2)))
    with pytest.raises(UserError, match="width"):
        load_reward_model(bad)
