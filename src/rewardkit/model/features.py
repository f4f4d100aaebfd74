"""Head-input features: what a reward model's final linear layer reads, text by text.

A ``num_labels=1`` sequence classifier ends in one linear layer, ``reward = w·f + b``. ``f`` is

=====================  ===================================================================
architecture           f (the feature of one text)
=====================  ===================================================================
BERT-style encoders    the pooler output (``BertForSequenceClassification``: pooler →
                       dropout → ``classifier``; dropout is off in eval mode)
RoBERTa-style heads    the input of ``classifier.out_proj`` (after its dense + tanh)
decoders (``score``)   the last non-pad token's final hidden state (HF's own pooling rule)
=====================  ===================================================================

Everything built on frozen features uses these: linear heads and head ensembles
(:mod:`rewardkit.train.heads`, :class:`rewardkit.model.ensemble.LinearHeads`), the
frozen-backbone fast path, and the Mahalanobis OOD statistics (:mod:`rewardkit.eval.ood`).
Applying the model's own head to the features reproduces its rewards (tested to 1e-5 in
fp32), so a head fitted on features drops into the saved model unchanged.
:func:`rewardkit.model.inference.forward_sequences` computes them (``features=True``);
:mod:`rewardkit.model.feature_cache` keeps them on disk.
"""

from __future__ import annotations

import numpy as np
import torch

from rewardkit.errors import UserError


def classification_head(hf_model) -> tuple[str, torch.nn.Linear]:
    """``(name, module)`` of the final linear layer that produces the reward."""
    for name in ("score", "classifier.out_proj", "classifier"):
        module = hf_model
        for part in name.split("."):
            module = getattr(module, part, None)
            if module is None:
                break
        if isinstance(module, torch.nn.Linear):
            if module.out_features != 1:
                raise UserError(
                    f"the model's head {name} has {module.out_features} outputs; "
                    "a reward model has num_labels=1"
                )
            return name, module
    raise UserError(
        f"{type(hf_model).__name__}: no linear reward head (score / classifier) "
        "found; head ensembles and OOD features need one"
    )


def head_parameters(hf_model) -> tuple[np.ndarray, float]:
    """The reward head as ``(w (H,), b)`` in float64 (``b = 0`` when the head has no bias)."""
    _, head = classification_head(hf_model)
    weight = head.weight.detach().double().cpu().numpy()[0]
    bias = float(head.bias.detach().double().cpu()[0]) if head.bias is not None else 0.0
    return weight, bias


def set_head_parameters(hf_model, weight: np.ndarray, bias: float) -> None:
    """Overwrite the reward head with ``w, b`` (a head without a bias must get ``b = 0``)."""
    name, head = classification_head(hf_model)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(np.asarray(weight)[None, :], dtype=head.weight.dtype))
        if head.bias is not None:
            head.bias.fill_(float(bias))
        elif abs(float(bias)) > 1e-12:
            raise UserError(f"the head {name} has no bias; cannot set bias {bias}")


def head_has_bias(hf_model) -> bool:
    return classification_head(hf_model)[1].bias is not None


def head_input_description(model) -> str:
    """What ``model``'s (a :class:`RewardModel`) reward head reads, in words."""
    name, _ = classification_head(model.model)
    if name == "score":
        return "the last non-pad token's final hidden state (input of `score`)"
    if name == "classifier.out_proj":
        return "the input of `classifier.out_proj` (after the head's dense + tanh)"
    return "the pooler output of the first ([CLS]) token (input of `classifier`)"


def pool_last_token(hidden: torch.Tensor, ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """The head input of each row: ``hidden`` itself when it is ``(B, H)`` already (BERT's
    pooler output), else, for decoders' ``(B, L, H)``, the state at the last non-pad token of
    ``ids (B, L)`` (HF's own pooling rule)."""
    if hidden.dim() != 3:
        return hidden
    positions = torch.arange(ids.shape[1], device=ids.device)
    last = (positions * (ids != pad_id).int()).argmax(-1)
    return hidden[torch.arange(ids.shape[0], device=ids.device), last]


def rewards_from_features(
    features: np.ndarray,
    weight: np.ndarray,
    bias: float | np.ndarray,
) -> np.ndarray:
    """``F·wᵀ + b``: one head ``w (H,)`` → ``(N,)``; K heads ``w (K, H), b (K,)`` → ``(K, N)``."""
    features = np.asarray(features, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim == 1:
        return features @ weight + float(bias)
    return weight @ features.T + np.asarray(bias, dtype=np.float64)[:, None]
