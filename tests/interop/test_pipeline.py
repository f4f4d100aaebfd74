"""A plain transformers `text-classification` pipeline on a saved rewardkit model, with
`truncation=True`, gives rewardkit's rewards — texts under, at and over the max length,
a response too long alone included — because the saved tokenizer carries the over-length rule."""

import numpy as np
import pytest
from transformers import pipeline

from rewardkit.model import RewardModel, load_reward_model

TEXTS = [
    ("what is a good tea ?", "green tea is good ."),
    ("a", "b c d e f g h i j k l m n"),  # [CLS] + 14 + [SEP]: exactly the limit
    ("a b c d e f g h i j k l m n o p", "x y"),  # the prompt is cut
    ("a", "b c d e f g h i j k l m n o p q r s t u v w"),  # the response's start is cut
]


@pytest.fixture(scope="module")
def short_rm(tmp_path_factory, tiny_bert_dir):
    """The tiny BERT saved with max_length 16, so the texts above go over it."""
    out = tmp_path_factory.mktemp("short-rm")
    RewardModel.from_backbone(str(tiny_bert_dir), max_length=16).save_pretrained(out)
    return out


def test_pipeline_with_truncation_equals_rewardkit(short_rm):
    scorer = load_reward_model(short_rm)
    scores = scorer.score([p for p, _ in TEXTS], [r for _, r in TEXTS])
    assert scores.tokens_removed.tolist()[:2] == [0, 0] and all(scores.tokens_removed[2:] > 0)
    lengths = [len(scorer.primary.tokenizer(t)["input_ids"]) for t in _rendered(scorer)]
    assert lengths[0] < 16 and lengths[1] == 16 and min(lengths[2:]) > 16
    texts = _rendered(scorer)
    classify = pipeline("text-classification", model=str(short_rm), device="cpu")
    plain = [classify(t, function_to_apply="none", truncation=True)[0]["score"] for t in texts]
    assert np.allclose(plain, scores.rewards, atol=1e-5)
    assert np.ptp(scores.rewards) > 1e-3


def _rendered(scorer):
    return [scorer.primary.template.render(scorer.primary.tokenizer, p, r)[0] for p, r in TEXTS]
