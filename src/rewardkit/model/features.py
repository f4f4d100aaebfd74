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
:func:`rewardkit.model.inference.forward_sequences` computes them (``features=True``, or
measured pass by pass with ``feature_map``); :mod:`rewardkit.model.feature_cache` keeps them
on disk.

Products of features with a matrix (heads' rewards, OOD distances) are computed
:data:`ROW_BLOCK` rows at a time (:func:`by_row_blocks`), so that a text's number is the same
bits whichever texts, and however many, it is computed with.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rewardkit.errors import UserError

# Rows per BLAS call in by_row_blocks: a whole number of every common kernel's tile height
# (2, 3, 4, 6, 8, 12, 16, 24), so every row falls in a whole tile.
ROW_BLOCK = 48


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


def by_row_blocks(function: Callable[[np.ndarray], np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``function`` of ``rows (N, H)`` (its results per row: ``(N,)`` or ``(K, N)``) computed
    :data:`ROW_BLOCK` rows at a time, the last block padded with zero rows, so that each row's
    result is the same bits whichever rows share the call. A BLAS picks its kernels by the
    matrix's shape, and the rows past the last whole tile of an N-row product are summed in
    another order (about 1e-16 apart): without the blocks a text's reward or OOD distance would
    change in its last digit with the file it came in, and a measure taken pass by pass
    (``rewardkit score``) would not match one of the whole file."""
    n = len(rows)
    whole = n - n % ROW_BLOCK
    parts = [function(rows[start : start + ROW_BLOCK]) for start in range(0, whole, ROW_BLOCK)]
    if whole < n:
        last = np.zeros((ROW_BLOCK, *np.shape(rows)[1:]), dtype=np.asarray(rows[:0]).dtype)
        last[: n - whole] = rows[whole:]
        parts.append(function(last)[..., : n - whole])
    return np.concatenate(parts, axis=-1) if parts else function(rows)


def rewards_from_features(
    features: np.ndarray,
    weight: np.ndarray,
    bias: float | np.ndarray,
) -> np.ndarray:
    """``F·wᵀ + b``: one head ``w (H,)`` → ``(N,)``; K heads ``w (K, H), b (K,)`` → ``(K, N)``
    (in row blocks: :func:`by_row_blocks`)."""
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim == 1:
        return by_row_blocks(lambda f: np.asarray(f, np.float64) @ weight + float(bias), features)
    bias = np.asarray(bias, dtype=np.float64)[:, None]
    return by_row_blocks(lambda f: weight @ np.asarray(f, np.float64).T + bias, features)
