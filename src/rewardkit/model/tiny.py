"""Tiny random model shapes: the one home of the configs the tests and the benchmarks' ``--tiny``
smoke modes build their throwaway backbones from (random weights, seconds on a CPU).

Not a user API: nothing in rewardkit trains or serves these; they exist so that a test and a
smoke run mean the same model when they say "the tiny BERT". They are read-only mappings:
pass them to the HF config with whatever the caller adds (vocabulary, positions, token ids)
and, where a test needs another shape, as an explicit override of the base::

    BertConfig(vocab_size=100, num_labels=1, **TINY_BERT)
    LlamaConfig(**{**TINY_LLAMA, "num_key_value_heads": 4}, pad_token_id=0)

``TINY_LLAMA``'s keys are those of every Llama-style decoder config (Qwen2 takes them too).
"""

from __future__ import annotations

from types import MappingProxyType

# A 2-layer BERT encoder, hidden 32 (first-token scoring, the ``classifier`` head).
TINY_BERT = MappingProxyType(
    {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
)

# A 2-layer Llama-style decoder, hidden 32, grouped-query attention 4/2 (last-token scoring,
# the ``score`` head).
TINY_LLAMA = MappingProxyType(
    {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 64,
    }
)
