"""Under bf16 autocast the reward head runs in fp32; without autocast nothing changes."""

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
)

from rewardkit.model.fp32_head import head_modules, keep_head_in_fp32
from rewardkit.model.tiny import TINY_BERT, TINY_LLAMA


def _bert():
    torch.manual_seed(0)
    return BertForSequenceClassification(
        BertConfig(
            vocab_size=100,
            **{**TINY_BERT, "num_attention_heads": 4},
            max_position_embeddings=64,
            num_labels=1,
        )
    )


def _llama():
    torch.manual_seed(0)
    return LlamaForSequenceClassification(
        LlamaConfig(
            vocab_size=100,
            **{**TINY_LLAMA, "num_key_value_heads": 4},
            num_labels=1,
            pad_token_id=0,
        )
    )


def _output_dtypes(model, modules, ids):
    dtypes = []
    hooks = [m.register_forward_hook(lambda _m, _a, out: dtypes.append(out.dtype)) for m in modules]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(input_ids=ids).logits
    for hook in hooks:
        hook.remove()
    return dtypes, logits


def test_bert_head_in_fp32_under_autocast():
    model = _bert().eval()
    ids = torch.randint(1, 100, (3, 12))
    modules = head_modules(model)
    assert modules == [model.bert.pooler, model.classifier]
    before, _ = _output_dtypes(model, modules, ids)
    assert before == [torch.bfloat16, torch.bfloat16]  # autocast's default: the reward is bf16
    fp32_logits = model(input_ids=ids).logits
    assert keep_head_in_fp32(model) == 2
    assert keep_head_in_fp32(model) == 0  # idempotent
    after, logits = _output_dtypes(model, modules, ids)
    assert after == [torch.float32, torch.float32] and logits.dtype == torch.float32
    torch.testing.assert_close(model(input_ids=ids).logits, fp32_logits, atol=0, rtol=0)


def test_decoder_score_head_in_fp32():
    model = _llama().eval()
    ids = torch.randint(1, 100, (2, 9))
    assert keep_head_in_fp32(model) == 1
    dtypes, logits = _output_dtypes(model, [model.score], ids)
    assert dtypes == [torch.float32] and logits.dtype == torch.float32
