"""TRL both ways, with TRL itself: GRPOTrainer takes rewardkit's reward function, and
RewardTrainer continues training a saved rewardkit model on exactly the ids rewardkit scores."""

import numpy as np
import pytest
import torch

trl = pytest.importorskip("trl", reason="TRL is in the test extra (pip install -e '.[test]')")
datasets = pytest.importorskip("datasets")

from rewardkit.data.records import PreferencePair  # noqa: E402
from rewardkit.integrations.trl import preference_dataset, reward_function  # noqa: E402
from rewardkit.model import load_reward_model  # noqa: E402
from rewardkit.train.accelerator import reset_accelerate_state  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """TRL's trainers set up accelerate's one-per-process state (bf16 by default); drop it
    after each test, as a fresh process would, so the tests after these train as asked."""
    yield
    reset_accelerate_state()


PAIRS = [
    PreferencePair(f"what is {w} ?", f"{w} is good .", "no", id=str(i))
    for i, w in enumerate(["tea", "coffee", "water", "red", "blue", "green", "fish", "cats"])
]


def test_grpo_trains_two_steps_on_rewardkit_rewards(tiny_llama_dir, heads_with_stats_dir, tmp_path):
    """A tiny Llama policy, 2 GRPO steps, rewards from `reward_function(dir)`: every completion
    TRL generated was scored, with the numbers rewardkit gives the same texts; the trust
    signals reached TRL's logs (``log_metric``: the logged metrics; ``log_extra``: the
    completions table's columns)."""
    seen = []
    rm = reward_function(str(heads_with_stats_dir))

    def reward(prompts, completions, **kwargs):
        rewards = rm(prompts=prompts, completions=completions, **kwargs)
        seen.append((list(prompts), list(completions), rewards))
        return rewards

    reward.__name__ = "rewardkit"
    dataset = datasets.Dataset.from_dict({"prompt": [p.prompt for p in PAIRS[:6]]})
    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=3,
        num_generations=3,
        max_completion_length=6,
        max_steps=2,
        learning_rate=1e-3,
        report_to="none",
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
    )
    trainer = trl.GRPOTrainer(
        model=str(tiny_llama_dir), reward_funcs=reward, args=args, train_dataset=dataset
    )
    trainer.train()
    assert len(seen) >= 2
    logged = {key for entry in trainer.state.log_history for key in entry}
    signals = ("ood_distance", "ood_percentile", "ood_flag", "ensemble_spread")
    assert {f"rewardkit/{signal}" for signal in signals} <= logged
    columns = trainer._logs["extra"]  # the completions table's extra columns (TRL 1.x)
    assert columns["rewardkit/ood_flag"] and set(columns["rewardkit/ood_flag"]) <= {0.0, 1.0}
    scorer = load_reward_model(heads_with_stats_dir)
    for prompts, completions, rewards in seen:
        expected = scorer.score(
            prompts,
            [c.lstrip(" ") if not p[-1].isspace() else c for p, c in zip(prompts, completions)],
        ).rewards
        assert np.allclose(rewards, expected, atol=1e-5)


@pytest.mark.parametrize("backbone", ["tiny_bert_rm_dir", "tiny_llama_rm_dir"])
def test_reward_trainer_continues_on_the_ids_rewardkit_scores(request, backbone, tmp_path):
    """`preference_dataset(dir, pairs)` gives TRL `chosen_ids`/`rejected_ids`, which it trains
    on unchanged (5 steps, encoder and decoder): the batches TRL builds hold exactly rewardkit's
    encodings, and the weights move."""
    folder = request.getfixturevalue(backbone)
    dataset = preference_dataset(str(folder), PAIRS)
    encoded, _ = load_reward_model(folder).encoder.encode_pairs(PAIRS)
    assert dataset["chosen_ids"] == [e.chosen_ids.tolist() for e in encoded]
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = []
    args = trl.RewardConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        max_steps=5,
        learning_rate=1e-3,
        max_length=None,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        logging_steps=1,
    )
    trainer = trl.RewardTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(folder),
    )
    collate = trainer.data_collator

    def spy(examples):
        batches.append([e["chosen_ids"] for e in examples])
        return collate(examples)

    trainer.data_collator = spy
    trainer.train()
    chosen = {tuple(e.chosen_ids.tolist()) for e in encoded}
    assert batches and all(tuple(ids) in chosen for batch in batches for ids in batch)
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
