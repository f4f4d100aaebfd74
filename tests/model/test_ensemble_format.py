"""The ensemble format: heads (form b), members (form a), combined folders; score_with_spread."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.errors import UserError  # noqa: E402
from rewardkit.model.ensemble import (  # noqa: E402
    HEADS_FILE,
    RewardEnsemble,
    is_ensemble_dir,
    load_ensemble_heads,
    save_ensemble_heads,
    write_members_manifest,
)
from rewardkit.model.features import set_head_parameters  # noqa: E402
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
    save_ensemble_heads(root / "heads", weight, bias, {"k": 3})
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
    ensemble = RewardEnsemble.from_pretrained(folders["heads"])
    assert ensemble.kind == "heads" and ensemble.k == 3 and is_ensemble_dir(folders["heads"])
    mean, std, per_member = ensemble.score_with_spread(PROMPTS, RESPONSES)
    plain = RewardModel.from_pretrained(folders["heads"]).score(PROMPTS, RESPONSES)
    # the saved model's own reward (what any HF tool computes) is the members' mean
    assert np.allclose(mean, plain, atol=1e-5)
    assert per_member.shape == (3, 3)
    assert np.allclose(std, per_member.std(axis=0))
    assert std.min() > 0
    weight, bias = load_ensemble_heads(folders["heads"])
    assert np.allclose(weight, folders["weight"], atol=1e-6)
    assert json.loads((folders["heads"] / "rewardkit.json").read_text())["ensemble"]["k"] == 3


def test_members_form_is_the_mean_of_member_models(folders):
    ensemble = RewardEnsemble.from_pretrained(folders["members"])
    assert ensemble.kind == "members" and ensemble.k == 2
    mean, std, per_member = ensemble.score_with_spread(PROMPTS, RESPONSES)
    expected = np.stack(
        [
            RewardModel.from_pretrained(folders[f"model{s}"]).score(PROMPTS, RESPONSES)
            for s in (0, 1)
        ]
    )
    assert np.allclose(per_member, expected, atol=1e-6)
    assert np.allclose(mean, expected.mean(axis=0)) and np.allclose(std, expected.std(axis=0))


def test_combined_separate_models(folders):
    spec = f"{folders['model0']},{folders['model1']}"
    ensemble = RewardEnsemble.from_pretrained(spec)
    assert ensemble.kind == "members" and ensemble.k == 2
    scored = ensemble.score_pairs(toy_pairs(6))
    assert scored.members_chosen.shape == (2, 6)
    assert np.allclose(scored.r_chosen, scored.members_chosen.mean(axis=0))
    assert np.allclose(scored.spread, (scored.members_chosen - scored.members_rejected).std(axis=0))


def test_single_model_has_zero_spread(folders):
    ensemble = RewardEnsemble.from_pretrained(folders["model0"])
    assert ensemble.kind == "single" and ensemble.k == 1
    _, std, per_member = ensemble.score_with_spread(PROMPTS[0], RESPONSES[:2])
    assert per_member.shape == (1, 2) and not std.any()


def test_heads_of_the_wrong_width_are_refused(folders, tmp_path):
    bad = tmp_path / "bad"
    RewardModel.from_pretrained(folders["model0"]).save_pretrained(bad)
    save_ensemble_heads(bad, np.zeros((2, 7)), np.zeros(2))
    with pytest.raises(UserError, match="width"):
        RewardEnsemble.from_pretrained(bad)
