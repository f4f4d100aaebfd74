"""``--queue uncertainty``: items come in the order of how close the reward model's
P(a ≻ b) is to 0.5 (scored by rewardkit's one scorer), and the order is recomputed when the
model folder changes."""

import shutil
import sys
from pathlib import Path

import pytest
import torch

from rewardkit.annotate import queue as queue_module
from rewardkit.annotate.assignment import next_item
from rewardkit.annotate.items import import_items
from rewardkit.annotate.queue import UncertaintyQueue
from rewardkit.bradley_terry import preference_probability
from rewardkit.model.loading import load_reward_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_helpers import write_items  # noqa: E402

WORDS = "tea coffee water cats dogs birds fish red blue green".split()
ITEMS = [
    {
        "id": f"i{n}",
        "prompt": f"what is {WORDS[n]}",
        "responses": [f"{WORDS[n]} is good", f"no {WORDS[(n + 3) % 10]}"],
    }
    for n in range(10)
]


def expected_order(model_dir) -> list[str]:
    scorer = load_reward_model(model_dir)
    closeness = {}
    for item in ITEMS:
        r = scorer.score(item["prompt"], item["responses"]).rewards
        closeness[item["id"]] = abs(float(preference_probability(r[0] - r[1])) - 0.5)
    return sorted(closeness, key=lambda key: (closeness[key], int(key[1:])))


def test_least_certain_first_and_refreshed_when_the_model_changes(
    tiny_bert_rm_dir, sqlite_store, tmp_path, monkeypatch
):
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    import_items(sqlite_store, write_items(tmp_path / "items.jsonl", ITEMS))
    queue = UncertaintyQueue(sqlite_store, model)
    monkeypatch.setattr(queue_module, "CHECK_EVERY_S", 0.0)
    keys = {n + 1: item["id"] for n, item in enumerate(ITEMS)}

    def order():
        return [keys[i] for i, _ in sorted(queue.priority().items(), key=lambda kv: kv[1])]

    first = expected_order(model)
    assert order() == first and queue.refreshes == 1
    assert order() == first and queue.refreshes == 1  # nothing changed: no rescoring
    served = next_item(sqlite_store, 1, overlap=3, priority=queue.priority()).item
    assert served.key == first[0]

    from transformers import AutoModelForSequenceClassification

    changed = AutoModelForSequenceClassification.from_pretrained(model)
    with torch.no_grad():
        torch.manual_seed(1)
        for parameter in changed.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)
    changed.save_pretrained(model)
    second = expected_order(model)
    assert second != first, "the changed model should order the items differently"
    assert order() == second and queue.refreshes == 2


def test_the_serve_option_needs_a_model():
    from rewardkit.annotate.config import AnnotateServeConfig
    from rewardkit.errors import UserError

    with pytest.raises(UserError, match="--queue uncertainty needs --model"):
        AnnotateServeConfig(queue="uncertainty")
