"""``--queue uncertainty``: items come in the order of how close the reward model's
P(a ≻ b) is to 0.5 (scored by rewardkit's one scorer), each item scored once — again only
when the model folder changes — and never on a page request."""

import shutil
import sys
import time
from pathlib import Path

import pytest
import torch

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


def ranked_keys(queue) -> list[str]:
    """The queue's current order as item keys (import order gives ids 1, 2, …)."""
    keys = {n + 1: item["id"] for n, item in enumerate(ITEMS)}
    return [keys[i] for i, _ in sorted(queue.priority().items(), key=lambda kv: kv[1])]


def test_least_certain_first_and_rescored_when_the_model_changes(
    tiny_bert_rm_dir, sqlite_store, tmp_path
):
    """One update scores every item; reading the order (what a page does) scores nothing;
    an update with nothing changed scores nothing; a changed model folder is reloaded and
    every item scored again under it."""
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    import_items(sqlite_store, write_items(tmp_path / "items.jsonl", ITEMS))
    queue = UncertaintyQueue(sqlite_store, model)
    assert queue.priority() == {}  # nothing is scored on the request path
    queue.update()
    first = expected_order(model)
    assert ranked_keys(queue) == first and (queue.loads, queue.scored_items) == (1, 10)
    queue.update()
    assert ranked_keys(queue) == first and (queue.loads, queue.scored_items) == (1, 10)
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
    queue.update()
    assert ranked_keys(queue) == second and (queue.loads, queue.scored_items) == (2, 20)


def test_added_items_are_scored_alone_in_the_background(tiny_bert_rm_dir, sqlite_store, tmp_path):
    """start() scores the first items before returning; items imported while it runs are
    scored by its thread — only they — and join the order as one scoring of all would place
    them, without any page asking."""
    import_items(sqlite_store, write_items(tmp_path / "first.jsonl", ITEMS[:6]))
    queue = UncertaintyQueue(sqlite_store, tiny_bert_rm_dir)
    queue.start(every_s=0.05)
    try:
        assert len(queue.priority()) == 6 and queue.scored_items == 6
        import_items(sqlite_store, write_items(tmp_path / "more.jsonl", ITEMS[6:]))
        deadline = time.monotonic() + 60
        while len(queue.priority()) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        queue.stop()
    assert ranked_keys(queue) == expected_order(tiny_bert_rm_dir)
    assert (queue.loads, queue.scored_items) == (1, 10)


def test_the_serve_option_needs_a_model():
    from rewardkit.annotate.config import AnnotateServeConfig
    from rewardkit.errors import UserError

    with pytest.raises(UserError, match="--queue uncertainty needs --model"):
        AnnotateServeConfig(queue="uncertainty")
