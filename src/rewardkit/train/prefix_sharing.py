"""Prefix sharing for decoder backbones: prompt, chosen and rejected in ONE sequence.

Wang & Hegde (2024), "Accelerating Direct Preference Optimization with Prefix Sharing"
(arXiv 2410.20305). Layout of a pair and who may attend to whom (causal within a branch):

    [ shared prefix | chosen suffix | rejected suffix | pad ]
      positions 0..s-1  s..s+c-1       s..s+r-1

The rejected suffix never sees the chosen suffix, so every token computes exactly what it
computes in its own unshared sequence (a causal decoder's prefix states do not depend on
what follows), while the prompt is encoded once instead of twice. The shared prefix is the
longest common token prefix of the two encoded texts, so the equivalence is exact even when
tokenization merges across the prompt/response boundary.

The reward of each side is the head applied to its last token (the appended EOS), as in the
concatenated forward. It needs a causal decoder
(:func:`rewardkit.model.backbone.is_causal_decoder`, checked by
:func:`rewardkit.train.forward.resolve_strategy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rewardkit.model.collate import to_device
from rewardkit.model.encode import EncodedPair
from rewardkit.train.batching import PairTargets, pair_targets
from rewardkit.train.lora import without_peft


def common_prefix_length(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    differ = np.nonzero(np.asarray(a[:n]) != np.asarray(b[:n]))[0]
    return int(differ[0]) if differ.size else n


@dataclass
class SharedPrefixBatch(PairTargets):
    input_ids: torch.Tensor  # (B, L)
    segment: torch.Tensor  # (B, L): 0 shared prefix, 1 chosen, 2 rejected, -1 padding
    position_ids: torch.Tensor  # (B, L)
    chosen_index: torch.Tensor  # (B,) position of the chosen side's last token
    rejected_index: torch.Tensor  # (B,)
    real_tokens: int  # tokens actually computed (no padding)

    @property
    def attention_mask(self) -> torch.Tensor:
        """``(B, 1, L, L)`` bool, True = may attend, built where ``segment`` lives (so only
        the ``(B, L)`` segment ids travel to the GPU, not the ``L²`` mask)."""
        return shared_prefix_mask(self.segment)


def shared_prefix_mask(segment: torch.Tensor) -> torch.Tensor:
    """Causal within a branch; the prefix is seen by both branches, neither branch by the
    other. Padded query rows see themselves only, so softmax never divides by zero."""
    width = segment.shape[1]
    order = torch.arange(width, device=segment.device)
    causal = order[None, :, None] >= order[None, None, :]  # query i may see key j <= i
    valid = (segment[:, :, None] >= 0) & (segment[:, None, :] >= 0)
    same_branch = (segment[:, None, :] == 0) | (segment[:, :, None] == segment[:, None, :])
    mask = causal & valid & same_branch
    alone = torch.eye(width, dtype=torch.bool, device=segment.device)[None]
    mask |= alone & (segment[:, :, None] < 0)
    return mask[:, None]


def collate_shared_prefix(
    pairs: list[EncodedPair], pad_id: int, use_margin: bool = True, multiple_of: int = 1
) -> SharedPrefixBatch:
    rows = []
    for pair in pairs:
        shared = common_prefix_length(pair.chosen_ids, pair.rejected_ids)
        # keep at least one token per side so each has a last token of its own
        shared = min(shared, len(pair.chosen_ids) - 1, len(pair.rejected_ids) - 1)
        rows.append((pair, shared))
    lengths = [s + (len(p.chosen_ids) - s) + (len(p.rejected_ids) - s) for p, s in rows]
    width = -(-max(lengths) // multiple_of) * multiple_of
    batch = len(rows)
    ids = np.full((batch, width), pad_id, dtype=np.int64)
    positions = np.zeros((batch, width), dtype=np.int64)
    segment = np.full((batch, width), -1, dtype=np.int64)  # 0 prefix, 1 chosen, 2 rejected
    chosen_index = np.zeros(batch, dtype=np.int64)
    rejected_index = np.zeros(batch, dtype=np.int64)
    for row, (pair, s) in enumerate(rows):
        c_suffix, r_suffix = pair.chosen_ids[s:], pair.rejected_ids[s:]
        c0, r0 = s, s + len(c_suffix)
        end = r0 + len(r_suffix)
        ids[row, :s] = pair.chosen_ids[:s]
        ids[row, c0:r0] = c_suffix
        ids[row, r0:end] = r_suffix
        positions[row, :s] = np.arange(s)
        positions[row, c0:r0] = np.arange(s, s + len(c_suffix))
        positions[row, r0:end] = np.arange(s, s + len(r_suffix))
        segment[row, :s], segment[row, c0:r0], segment[row, r0:end] = 0, 1, 2
        chosen_index[row], rejected_index[row] = r0 - 1, end - 1
    return SharedPrefixBatch(
        *pair_targets(pairs, use_margin),
        input_ids=torch.from_numpy(ids),
        segment=torch.from_numpy(segment),
        position_ids=torch.from_numpy(positions),
        chosen_index=torch.from_numpy(chosen_index),
        rejected_index=torch.from_numpy(rejected_index),
        real_tokens=int(sum(lengths)),
    )


def shared_prefix_rewards(model, batch: SharedPrefixBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """``(r_chosen, r_rejected)`` from one forward of a HF ``*ForSequenceClassification``
    decoder (``model.score`` head on ``getattr(model, model.base_model_prefix)``; a peft
    model's adapters sit inside it)."""
    model = without_peft(model)
    device = next(model.parameters()).device
    backbone = getattr(model, model.base_model_prefix)
    hidden = backbone(
        input_ids=to_device(batch.input_ids, device),
        attention_mask=shared_prefix_mask(to_device(batch.segment, device)),
        position_ids=to_device(batch.position_ids, device),
        use_cache=False,
    ).last_hidden_state
    rows = torch.arange(hidden.shape[0], device=device)
    chosen = model.score(hidden[rows, to_device(batch.chosen_index, device)])[:, 0]
    rejected = model.score(hidden[rows, to_device(batch.rejected_index, device)])[:, 0]
    return chosen.float(), rejected.float()
