"""Prompt-disjoint train/eval splits."""

import hashlib

import pytest

from rewardkit.data import PreferencePair, is_eval_prompt, prompt_hash, read_pairs, split_by_prompt
from rewardkit.data.splits import check_disjoint, prompt_overlap
from rewardkit.errors import UserError


def _pairs(n, per_prompt=1):
    return [
        PreferencePair(prompt=f"prompt {i // per_prompt}", chosen=f"c{i}", rejected=f"r{i}")
        for i in range(n)
    ]


def test_canonical_hh_rlhf_split(shared_data):
    """README of ../shared/data: eval iff int(sha256(prompt)) % 5 == 0 → 1,874 / 438."""
    pairs, _ = read_pairs(shared_data / "hh-rlhf-harmless-base" / "test.jsonl.gz")
    train, eval_ = split_by_prompt(pairs)
    assert (len(train), len(eval_)) == (1874, 438)
    by_readme = [
        p for p in pairs if int(hashlib.sha256(p.prompt.encode("utf-8")).hexdigest(), 16) % 5 == 0
    ]
    assert eval_ == by_readme
    assert not {p.prompt for p in train} & {p.prompt for p in eval_}


def test_one_over_k_fractions_use_modulo_k():
    prompts = [f"q{i}" for i in range(300)]
    for fraction, k in ((0.5, 2), (0.2, 5), (1 / 3, 3), (0.1, 10)):
        assert [is_eval_prompt(p, fraction) for p in prompts] == [
            prompt_hash(p) % k == 0 for p in prompts
        ]


def test_other_fractions_use_ten_thousand_buckets():
    prompts = [f"q{i}" for i in range(2000)]
    picked = [is_eval_prompt(p, 0.3) for p in prompts]
    assert picked == [prompt_hash(p) % 10000 < 3000 for p in prompts]
    assert 0.25 < sum(picked) / len(prompts) < 0.35


def test_all_pairs_of_a_prompt_land_on_one_side_in_input_order():
    pairs = _pairs(60, per_prompt=4)  # rankings-like: several pairs per prompt
    train, eval_ = split_by_prompt(pairs, eval_fraction=0.25)
    assert train and eval_ and len(train) + len(eval_) == 60
    assert not {p.prompt for p in train} & {p.prompt for p in eval_}
    assert [p.chosen for p in train] == [p.chosen for p in pairs if p in train]


def test_chat_prompts_split_by_their_canonical_text():
    chat = [{"role": "user", "content": "hi"}]
    pairs = [
        PreferencePair(prompt=[dict(m) for m in chat], chosen=f"c{i}", rejected="r")
        for i in range(3)
    ]
    train, eval_ = split_by_prompt(pairs, eval_fraction=0.5)
    assert sorted([len(train), len(eval_)]) == [0, 3]


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_eval_fraction_out_of_range_names_the_flag(fraction):
    with pytest.raises(UserError, match="--eval-fraction must be between 0 and 1"):
        split_by_prompt(_pairs(2), eval_fraction=fraction)
    with pytest.raises(UserError, match="--eval-fraction"):
        is_eval_prompt("p", fraction)


def test_overlap_between_train_and_separate_eval_data():
    train, eval_ = _pairs(10), _pairs(3)  # eval shares prompts 0, 1, 2
    assert [p.prompt for p in prompt_overlap(train, eval_)] == ["prompt 0", "prompt 1", "prompt 2"]
    with pytest.raises(UserError) as err:
        check_disjoint(train, eval_, eval_name="--eval-data eval.jsonl")
    message = str(err.value)
    assert message.startswith(
        "3 of 10 training pairs share their prompt with --eval-data eval.jsonl"
    )
    assert "--eval-fraction" in message and "\n" not in message
    check_disjoint(train[3:], eval_)  # disjoint: no error
