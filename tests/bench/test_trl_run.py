"""bench/trl_run.py, the one TRL anchor of every bench: TRL trains on the very texts rewardkit
scores, counts the tokens it trained on (as rewardkit's ``tokens_seen`` does), reports the
pairs it dropped, and logs every step's loss under the constant schedule. Never timed."""

import importlib.util
import math

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("trl") is None, reason="needs the [bench] extra (trl==1.16.0)"
)


@pytest.fixture
def trl_run(bench_module):
    return bench_module("trl_run")


def test_trl_trains_one_epoch_on_rewardkit_texts(trl_run, tiny_bert_dir, world_files, tmp_path):
    """10 world pairs at max length 64, batch 4, constant schedule: a whole epoch is every kept
    pair in ceil(kept / 4) steps, each step's loss logged; the token count is the sum of the
    kept records' tokens as TRL tokenized them (its EOS text appended, since the BERT
    template does not end with EOS); the model is saved."""
    from transformers import AutoTokenizer

    from rewardkit.data import read_pairs
    from rewardkit.model.reward_model import RewardModel

    pairs = read_pairs(world_files["train"])[0][:10]
    rows, append_eos = trl_run.trl_records(str(tiny_bert_dir), pairs, 64)
    reference = RewardModel.from_backbone(str(tiny_bert_dir), max_length=64)
    first = pairs[0]
    assert (
        rows[0]["chosen"]
        == reference.template.render(reference.tokenizer, first.prompt, first.chosen)[0]
    )
    run = trl_run.TrlRun(
        str(tiny_bert_dir), batch_size=4, max_length=64, schedule="constant", out=tmp_path / "m"
    )
    result = trl_run.run_trl(run, rows, append_eos)

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    eos, sides = result["eos_suffix"], ("chosen", "rejected")
    assert not append_eos and eos == tokenizer.sep_token
    lengths = [[len(tokenizer(row[side] + eos)["input_ids"]) for side in sides] for row in rows]
    kept = [sum(pair) for pair in lengths if max(pair) <= 64]
    assert result["dropped_overlong"] == len(rows) - len(kept)
    assert result["pairs_trained"] == len(kept) and result["steps"] == math.ceil(len(kept) / 4)
    assert len(result["losses"]) == result["steps"]
    assert result["tokens"] == sum(kept)
    assert (tmp_path / "m" / "config.json").is_file()


def test_pairs_in_steps_counts_each_epochs_partial_last_batch(trl_run):
    """10 kept pairs, batch 4: an epoch is 4 + 4 + 2 pairs in 3 steps, and max_steps past it
    go on into the next epoch."""
    counted = [trl_run.pairs_in_steps(steps, 10, 4) for steps in range(1, 8)]
    assert counted == [4, 8, 10, 14, 18, 20, 24]
    assert trl_run.pairs_in_steps(5, 8, 4) == 20  # batches divide the epoch: steps × batch
