"""Prefix sharing (Wang & Hegde 2024) must compute exactly what the concatenated forward does."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rewardkit.model.collate import pad_right
from rewardkit.model.encode import EncodedPair
from rewardkit.model.reward_model import RewardModel
from rewardkit.train.forward import pair_forward, resolve_strategy
from rewardkit.train.prefix_sharing import (
    collate_shared_prefix,
    common_prefix_length,
    shared_prefix_rewards,
)


def _pairs(seed=0, n=5):
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        prompt = rng.integers(3, 99, rng.integers(4, 30))
        chosen = rng.integers(3, 99, rng.integers(1, 9))
        rejected = rng.integers(3, 99, rng.integers(1, 9))
        pairs.append(
            EncodedPair(
                np.r_[prompt, chosen, 2].astype(np.int32),
                np.r_[prompt, rejected, 2].astype(np.int32),
                0.0,
                False,
                1.0,
                i,
            )
        )
    # a pair whose chosen response is empty: chosen ids are a prefix of rejected ids
    prompt = rng.integers(3, 99, 6)
    pairs.append(
        EncodedPair(
            np.r_[prompt, 2].astype(np.int32),
            np.r_[prompt, 7, 8, 2].astype(np.int32),
            0.0,
            False,
            1.0,
            n,
        )
    )
    return pairs


def _bt(r_c, r_r):
    return -F.logsigmoid(r_c - r_r).mean()


def test_common_prefix_length():
    assert common_prefix_length(np.array([1, 2, 3, 4]), np.array([1, 2, 5])) == 2
    assert common_prefix_length(np.array([1, 2]), np.array([1, 2, 3])) == 2
    assert common_prefix_length(np.array([9]), np.array([1])) == 0


def test_loss_and_gradients_equal_the_concatenated_forward(tiny_llama):
    """Same rewards, BT loss and every parameter gradient to 1e-4 (fp32)."""
    pairs = _pairs()
    batch = collate_shared_prefix(pairs, pad_id=0)
    r_c, r_r = shared_prefix_rewards(tiny_llama, batch)
    shared_loss = _bt(r_c, r_r)
    shared_loss.backward()
    shared_grads = [p.grad.clone() for p in tiny_llama.parameters()]
    tiny_llama.zero_grad()

    ids, mask = pad_right([p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs], 0)
    rewards = tiny_llama(input_ids=ids, attention_mask=mask).logits[:, 0]
    concat_loss = _bt(rewards[: len(pairs)], rewards[len(pairs) :])
    concat_loss.backward()

    torch.testing.assert_close(r_c, rewards[: len(pairs)], atol=1e-4, rtol=0)
    torch.testing.assert_close(r_r, rewards[len(pairs) :], atol=1e-4, rtol=0)
    assert abs(float(shared_loss) - float(concat_loss)) < 1e-4
    for shared, param in zip(shared_grads, tiny_llama.parameters()):
        torch.testing.assert_close(shared, param.grad, atol=1e-4, rtol=0)


def test_the_prompt_is_computed_once(tiny_llama):
    pairs = _pairs()
    batch = collate_shared_prefix(pairs, pad_id=0)
    concatenated = sum(len(p.chosen_ids) + len(p.rejected_ids) for p in pairs)
    # each pair saves its shared prefix, keeping at least one token of each side
    shared = sum(
        min(
            common_prefix_length(p.chosen_ids, p.rejected_ids),
            len(p.chosen_ids) - 1,
            len(p.rejected_ids) - 1,
        )
        for p in pairs
    )
    assert shared > 0
    assert batch.real_tokens == concatenated - shared


def test_rejected_suffix_cannot_see_chosen_suffix():
    pair = EncodedPair(
        np.array([5, 6, 7, 2], np.int32), np.array([5, 6, 9, 2], np.int32), 0.0, False, 1.0, 0
    )
    batch = collate_shared_prefix([pair], pad_id=0)
    mask = batch.attention_mask[0, 0]
    # layout: [5 6 | 7 2 | 9 2]; rejected tokens are columns 4, 5; chosen tokens columns 2, 3
    assert not mask[4:6, 2:4].any()
    assert mask[4:6, 0:2].all()
    assert batch.position_ids[0].tolist() == [0, 1, 2, 3, 2, 3]
    assert (batch.chosen_index.item(), batch.rejected_index.item()) == (3, 5)


def test_auto_strategy_picks_prefix_sharing_for_decoders_only(tiny_llama_dir, tiny_bert_dir):
    decoder = RewardModel.from_backbone(str(tiny_llama_dir), max_length=64)
    encoder = RewardModel.from_backbone(str(tiny_bert_dir), max_length=64)
    assert resolve_strategy("auto", decoder.model, decoder.info.scoring["rule"]) == "prefix-sharing"
    assert resolve_strategy("auto", encoder.model, encoder.info.scoring["rule"]) == "concatenated"
    from rewardkit.errors import UserError

    with pytest.raises(UserError, match="decoder"):
        resolve_strategy("prefix-sharing", encoder.model, encoder.info.scoring["rule"])


def test_pair_forward_strategies_agree_on_a_real_encoding(tiny_llama_dir):
    """Through rewardkit's own encoding (template, appended EOS, distinct pad)."""
    model = RewardModel.from_backbone(str(tiny_llama_dir), max_length=64)
    from rewardkit.data.records import PreferencePair

    pairs = [
        PreferencePair("hello how can you help me ?", "sure i can help", "no"),
        PreferencePair("what is red ?", "red is red", "blue is red . maybe"),
    ]
    encoded, _ = model.encoder.encode_pairs(pairs)
    kwargs = dict(
        pad_id=model.pad_id, use_margin=True, precision="fp32", device=torch.device("cpu")
    )
    shared = pair_forward(model.model, encoded, strategy="prefix-sharing", **kwargs)
    concat = pair_forward(model.model, encoded, strategy="concatenated", **kwargs)
    torch.testing.assert_close(shared.r_chosen, concat.r_chosen, atol=1e-4, rtol=0)
    torch.testing.assert_close(shared.r_rejected, concat.r_rejected, atol=1e-4, rtol=0)
    assert shared.tokens < concat.tokens


@pytest.mark.parametrize("strategy", ["concatenated", "prefix-sharing"])
def test_padding_to_a_multiple_changes_no_reward(tiny_llama, strategy):
    """--pad-to-multiple 64 (the CUDA default) pads every batch to a width divisible by 64,
    counts the same real tokens, and gives the same rewards (fp32, 1e-5)."""
    pairs = _pairs()
    kwargs = dict(
        strategy=strategy, pad_id=0, use_margin=False, precision="fp32", device=torch.device("cpu")
    )
    plain = pair_forward(tiny_llama, pairs, **kwargs)
    padded = pair_forward(tiny_llama, pairs, multiple_of=64, **kwargs)
    assert padded.tokens == plain.tokens
    torch.testing.assert_close(padded.r_chosen, plain.r_chosen, atol=1e-5, rtol=0)
    torch.testing.assert_close(padded.r_rejected, plain.r_rejected, atol=1e-5, rtol=0)
    assert collate_shared_prefix(pairs, 0, multiple_of=64).input_ids.shape[1] % 64 == 0
