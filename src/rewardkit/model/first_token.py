"""Compute only the [CLS] row of an encoder's last layer: the same reward, ~14% fewer FLOPs.

A BERT- or RoBERTa-style sequence classifier reads one position of the final hidden states:
the first ([CLS]) token (``BertPooler`` takes ``hidden[:, 0]``, RoBERTa's classification head
``features[:, 0]``). In the last encoder layer every other row is computed and thrown away.
Only the [CLS] query needs attention over the sequence (keys and values still need every
token); its attention output, feed-forward block and layer norms are row-wise. So the last
layer can run on one row per text:

    q = W_q h_0,  k = W_k H,  v = W_v H,  a = softmax(q kᵀ/√d + mask) v,
    out = FFN(LN(W_o a + h_0))

which is exactly what the full layer computes at position 0. Per token and layer the linear
work is 12·h² multiply-adds (Q, K, V, O: 4h²; a 4h-wide feed-forward: 8h²); the last layer
then costs 2·h² per token (K and V) instead of 12·h², which for a 6-layer model such as
all-MiniLM-L6-v2 removes 10/72 ≈ 14% of the linear FLOPs, in training (forward and backward),
evaluation and scoring alike. The tests check rewards and gradients against the full layer.

``enable_first_token_last_layer(model)`` patches the last layer's ``forward`` on the
instance (weights, names and saved files are untouched); the last hidden state then has one
row per text, which the head and :mod:`rewardkit.model.features` (it reads the head's input)
are built to accept.
"""

from __future__ import annotations

import types

from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.bert.modeling_bert import eager_attention_forward

# Sequence classifiers whose head reads only position 0 of the last hidden state.
SUPPORTED = {
    "BertForSequenceClassification",
    "RobertaForSequenceClassification",
    "XLMRobertaForSequenceClassification",
}


def _last_layer(hf_model):
    base = getattr(hf_model, hf_model.base_model_prefix, None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not layers:
        return None
    layer = layers[-1]
    attention = getattr(layer, "attention", None)
    needed = (
        getattr(attention, "self", None),
        getattr(attention, "output", None),
        getattr(layer, "feed_forward_chunk", None),
    )
    return layer if all(part is not None for part in needed) else None


def supports_first_token(hf_model) -> bool:
    """Whether ``hf_model`` is a supported encoder classifier with the expected last layer."""
    if type(hf_model).__name__ not in SUPPORTED:
        return False
    config = hf_model.config
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return False
    return _last_layer(hf_model) is not None


def _first_token_forward(self, hidden_states, attention_mask=None, *args, **kwargs):
    """The last layer at position 0 only; returns ``(B, 1, H)``."""
    attn = self.attention.self
    batch, length = hidden_states.shape[:2]
    first = hidden_states[:, :1]
    head_dim = attn.attention_head_size
    query = attn.query(first).view(batch, 1, -1, head_dim).transpose(1, 2)
    key = attn.key(hidden_states).view(batch, length, -1, head_dim).transpose(1, 2)
    value = attn.value(hidden_states).view(batch, length, -1, head_dim).transpose(1, 2)
    mask = attention_mask
    if mask is not None and mask.dim() == 4 and mask.shape[-2] == length:
        mask = mask[:, :, :1, :]  # the [CLS] query's row of the (query × key) mask
    interface = ALL_ATTENTION_FUNCTIONS.get_interface(
        attn.config._attn_implementation, eager_attention_forward
    )
    context, _ = interface(
        attn,
        query,
        key,
        value,
        mask,
        dropout=attn.dropout.p if attn.training else 0.0,
        scaling=attn.scaling,
    )
    context = context.reshape(batch, 1, -1).contiguous()
    attention_output = self.attention.output(context, first)
    return self.feed_forward_chunk(attention_output)


def enable_first_token_last_layer(hf_model) -> bool:
    """Patch ``hf_model``'s last encoder layer to compute the [CLS] row only.

    Returns whether it did (False for unsupported architectures, which keep their forward)."""
    if not supports_first_token(hf_model):
        return False
    layer = _last_layer(hf_model)
    layer.forward = types.MethodType(_first_token_forward, layer)
    return True


def disable_first_token_last_layer(hf_model) -> None:
    """Undo :func:`enable_first_token_last_layer` (the full last layer again)."""
    layer = _last_layer(hf_model)
    if layer is not None and "forward" in vars(layer):
        del layer.forward


def is_enabled(hf_model) -> bool:
    layer = _last_layer(hf_model)
    return layer is not None and "forward" in vars(layer)
