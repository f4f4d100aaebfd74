"""The left-padding check a saved model carries: absolute position embeddings (BERT) change
scores under a left-padded batch without position ids (as RewardBench batches); rotary ones
(Llama) do not. rewardkit.json, /info and the model card state the measured result."""

import json

import pytest

from rewardkit.model import RewardModel
from rewardkit.model.portability import TOLERANCE, left_padding_check


@pytest.mark.parametrize(
    "backbone, changes", [("tiny_bert_rm_dir", True), ("tiny_llama_rm_dir", False)]
)
def test_left_padding_changes_absolute_positions_only(request, backbone, changes):
    model = RewardModel.from_pretrained(request.getfixturevalue(backbone))
    check = left_padding_check(model)
    assert check["changes_scores"] is changes
    assert (check["max_abs_delta"] > TOLERANCE) is changes
    if not changes:
        assert check["max_abs_delta"] < 1e-5  # rotary positions: only float noise


def test_the_saved_model_states_it_in_the_sidecar_and_the_card(tiny_bert_rm_dir, tmp_path):
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    model.save_pretrained(tmp_path / "rm")
    saved = json.loads((tmp_path / "rm" / "rewardkit.json").read_text())["scoring"]
    assert saved["left_padding"]["changes_scores"] is True
    card = (tmp_path / "rm" / "README.md").read_text()
    assert "--batch_size 1" in card and "reward_function(DIR)" in card
    assert card.startswith("---\nlibrary_name: transformers")
