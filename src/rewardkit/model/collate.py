"""Dynamic padding: a batch is padded to its own longest sequence, on the right.

Right padding keeps every token at the position it has unpadded, so a score never depends on
the batch it was computed in (absolute-position encoders like BERT would otherwise change).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rewardkit.errors import UserError


def pad_right(
    sequences: Sequence[np.ndarray | list[int]], pad_id: int, multiple_of: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack sequences into ``(input_ids, attention_mask)`` of shape ``(B, L)``."""
    longest = max(len(s) for s in sequences)
    if multiple_of > 1:
        longest = -(-longest // multiple_of) * multiple_of
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def pad_left(
    sequences: Sequence[np.ndarray | list[int]],
    pad_id: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left padding (for decoders only): ``(input_ids, attention_mask, position_ids)``.

    Position ids count real tokens only, so each token keeps its unpadded position."""
    longest = max(len(s) for s in sequences)
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, seq in enumerate(sequences):
        if len(seq):
            ids[row, longest - len(seq) :] = seq
            mask[row, longest - len(seq) :] = 1
    mask_t = torch.from_numpy(mask)
    positions = (mask_t.cumsum(-1) - 1).clamp(min=0)
    return torch.from_numpy(ids), mask_t, positions


def pad_multiple_for(device: torch.device, requested: int = 0) -> int:
    """What padded lengths are rounded up to: ``requested``, or by default 64 on CUDA (bf16
    attention on Hopper builds a cuDNN plan per new shape, which costs more than the padding)
    and 1 elsewhere (on a CPU every padded token costs compute). Right padding changes no
    score."""
    return requested or (64 if device.type == "cuda" else 1)


AUTO_BATCH_CPU = 32
AUTO_BATCH_TOKENS_CUDA = 65_536
AUTO_BATCH_TEXTS_CUDA = 1_024


def scoring_batches(
    lengths: Sequence[int], batch_size: int, device: torch.device, pad_multiple: int = 1
) -> list[np.ndarray]:
    """Row indices of each forward pass when scoring, shortest sequences first (a batch of
    similar lengths needs little padding).

    ``batch_size`` > 0 puts that many texts in each pass. 0 is the device's default: 32 on a
    CPU, where a pass is compute-bound and larger batches gain nothing; on CUDA as many texts
    as fit in 65,536 padded tokens (at most 1,024), because a small model leaves the GPU idle
    between small launches. No score depends on the batching (right padding)."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    if batch_size < 0:
        raise UserError(
            f"--batch-size must be 0 (the device's default) or positive, not {batch_size}"
        )
    if batch_size or device.type != "cuda":
        size = batch_size or AUTO_BATCH_CPU
        return [order[start : start + size] for start in range(0, len(order), size)]
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < AUTO_BATCH_TEXTS_CUDA:
            padded = -(-max(int(lengths[order[end]]), 1) // pad_multiple) * pad_multiple
            if (end - start + 1) * padded > AUTO_BATCH_TOKENS_CUDA:
                break
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a host batch tensor to ``device``. On CUDA through pinned memory and without
    blocking: a copy from pageable memory would make the host wait for the GPU's queue."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)
