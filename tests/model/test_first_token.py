"""The [CLS]-only last layer computes the same rewards and gradients as the full layer."""

import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)

import rewardkit.model.attention  # noqa: F401  (registers rewardkit_sdpa)
from rewardkit.model.first_token import (
    disable_first_token_last_layer,
    enable_first_token_last_layer,
    is_enabled,
    supports_first_token,
)
from rewardkit.model.tiny import TINY_BERT, TINY_LLAMA


def _bert(attn: str):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        **{**TINY_BERT, "num_hidden_layers": 3, "num_attention_heads": 4},
        max_position_embeddings=64,
        num_labels=1,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        attn_implementation=attn,
    )
    return BertForSequenceClassification(config)


def _roberta():
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=100,
        **{**TINY_BERT, "num_attention_heads": 4},
        max_position_embeddings=70,
        num_labels=1,
        pad_token_id=1,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return RobertaForSequenceClassification(config)


def _batch(pad: bool):
    torch.manual_seed(1)
    ids = torch.randint(5, 100, (4, 20))
    mask = torch.ones_like(ids)
    if pad:  # right padding of different lengths
        for row, length in enumerate([20, 13, 7, 2]):
            mask[row, length:] = 0
            ids[row, length:] = 0
    return ids, mask


def _logits_and_grads(model, ids, mask):
    model.zero_grad()
    logits = model(input_ids=ids, attention_mask=mask).logits[:, 0]
    (logits * torch.arange(1.0, 5.0)).sum().backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return logits.detach(), grads


@pytest.mark.parametrize("attn", ["eager", "sdpa", "rewardkit_sdpa"])
@pytest.mark.parametrize("pad", [False, True])
def test_bert_same_rewards_and_gradients(attn, pad):
    model = _bert(attn)
    ids, mask = _batch(pad)
    full_logits, full_grads = _logits_and_grads(model, ids, mask)
    assert enable_first_token_last_layer(model) and is_enabled(model)
    fast_logits, fast_grads = _logits_and_grads(model, ids, mask)
    torch.testing.assert_close(fast_logits, full_logits, atol=1e-5, rtol=1e-5)
    assert fast_grads.keys() == full_grads.keys()
    for name in full_grads:
        torch.testing.assert_close(
            fast_grads[name], full_grads[name], atol=1e-5, rtol=1e-4, msg=name
        )
    hidden = model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert hidden.shape[1] == 1  # only the [CLS] row was computed
    disable_first_token_last_layer(model)
    assert not is_enabled(model)
    torch.testing.assert_close(
        model(input_ids=ids, attention_mask=mask).logits[:, 0].detach(), full_logits
    )


def test_bert_bf16_autocast_close():
    model = _bert("rewardkit_sdpa")
    ids, mask = _batch(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        full = model(input_ids=ids, attention_mask=mask).logits.float()
        enable_first_token_last_layer(model)
        fast = model(input_ids=ids, attention_mask=mask).logits.float()
    torch.testing.assert_close(fast, full, atol=2e-2, rtol=2e-2)


def test_roberta_same_rewards():
    model = _roberta()
    ids, mask = _batch(True)
    ids = ids.masked_fill(mask == 0, 1)
    full, _ = _logits_and_grads(model, ids, mask)
    assert enable_first_token_last_layer(model)
    fast, _ = _logits_and_grads(model, ids, mask)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=1e-5)


def test_decoders_are_left_alone():
    config = LlamaConfig(
        vocab_size=100, **{**TINY_LLAMA, "num_key_value_heads": 4}, num_labels=1, pad_token_id=0
    )
    model = LlamaForSequenceClassification(config)
    assert not supports_first_token(model)
    assert not enable_first_token_last_layer(model)
