"""Batched inference: token-id sequences in, rewards (and head-input features) out.

Every reward rewardkit reports is computed here, by one loop:

1. sort the sequences by length and cut them into forward passes (:func:`scoring_batches`:
   32 texts on a CPU, a token budget on CUDA);
2. pad each pass on the right (left, with real-token position ids, only when asked, and only
   for decoders), so every token keeps the position it has unpadded and no reward depends on
   the batch it was computed in;
3. run the model's own HF forward (bf16 autocast when its precision says so) and read
   ``logits[:, 0]``; with ``features=True`` a hook also keeps what the reward head reads
   (:mod:`rewardkit.model.features`: BERT's pooler output, a decoder's last-token state);
4. keep the outputs on the device and copy them to the host at the end (features every
   ``FLUSH_EVERY`` passes: on CUDA each copy makes the host wait for the GPU, and features
   are large), then put them back in input order. A ``feature_map`` measures the features
   at each copy and only its values are kept: memory for a file's measures, not its
   ``(N, H)`` features.

Under a launcher each process runs whole batches of the same plan and the rows are gathered
(:mod:`rewardkit.model.shards`), so a distributed run gives the single-process numbers.

:class:`rewardkit.model.scorer.Scorer` calls this for every model it holds; nothing else runs
a scoring forward pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rewardkit.errors import UserError
from rewardkit.model.attention import shape_stable_attention
from rewardkit.model.collate import pad_left, pad_right, scoring_batches
from rewardkit.model.features import classification_head, pool_last_token
from rewardkit.model.mc_dropout import dropout_active
from rewardkit.model.shards import gather_rows, my_batches
from rewardkit.progress import progress_bar

FLUSH_EVERY = 32  # passes whose features stay on the device before one copy to the host


@dataclass
class Forward:
    """Rewards ``(N,)`` float64 and, when asked for, head-input features ``(N, H)`` float32
    or a ``feature_map``'s values of them ``(N, D)``, in input order."""

    rewards: np.ndarray
    features: np.ndarray | None = None
    mapped: np.ndarray | None = None


@torch.inference_mode()
def forward_sequences(
    model,
    sequences: Sequence[Sequence[int]],
    *,
    batch_size: int = 0,
    features: bool = False,
    feature_map: Callable[[np.ndarray], np.ndarray] | None = None,
    padding_side: str = "right",
    progress: bool | None = False,
    description: str = "scoring",
    dropout: float = 0.0,
) -> Forward:
    """Score token-id ``sequences`` with ``model`` (a :class:`RewardModel`). ``features=True``
    keeps the head-input features; ``feature_map`` instead measures them as they reach the
    host — ``(b, H)`` float32 rows (in length order) → ``(b, D)``, row by row (a product of
    the rows with a matrix: :func:`rewardkit.model.features.by_row_blocks`) — and keeps its
    values only. ``dropout > 0`` leaves every dropout layer on at that probability (one
    MC-dropout pass, :mod:`rewardkit.model.mc_dropout`); the default 0 is the deterministic
    reward."""
    if padding_side == "left" and model.info.scoring["rule"] != "last-token":
        raise UserError("left padding only applies to decoders (last-token scoring)")
    if features and feature_map is not None:
        raise ValueError("features or a feature_map of them, not both")
    n = len(sequences)
    head = classification_head(model.model)[1] if features or feature_map else None
    captured: list[torch.Tensor] = []
    hook = (
        head.register_forward_pre_hook(lambda _m, args: captured.append(args[0])) if head else None
    )
    was_training = model.model.training
    model.model.eval()
    batches = my_batches(
        scoring_batches([len(s) for s in sequences], batch_size, model.device, model.pad_multiple)
    )
    out = Forward(np.zeros(n, dtype=np.float64))
    if features:
        out.features = np.zeros((n, head.in_features), dtype=np.float32)
    if feature_map is not None:  # its width and type, from no rows
        width = feature_map(np.zeros((0, head.in_features), dtype=np.float32))
        out.mapped = np.zeros((n, *width.shape[1:]), dtype=width.dtype)
    pending: list[tuple[np.ndarray, torch.Tensor, torch.Tensor | None]] = []
    started, done = time.perf_counter(), 0
    try:
        with (
            progress_bar(description, n, show=progress) as bar,
            shape_stable_attention(model.device),
            dropout_active(model.model, dropout),
        ):
            for rows in batches:
                batch = [sequences[i] for i in rows]
                captured.clear()
                if padding_side == "left":
                    ids, mask, positions = pad_left(batch, model.pad_id)
                    rewards = model.forward_ids(ids, mask, positions)
                else:
                    ids, mask = pad_right(batch, model.pad_id, multiple_of=model.pad_multiple)
                    rewards = model.forward_ids(ids, mask)
                hidden = None
                if head is not None:
                    hidden = captured[-1]
                    hidden = pool_last_token(hidden, ids.to(hidden.device), model.pad_id)
                pending.append((rows, rewards, hidden))
                if head is not None and len(pending) >= FLUSH_EVERY:
                    _to_host(pending, out, feature_map)  # features are large: not all kept
                done += len(rows)
                bar.update(len(rows), rate=done / max(time.perf_counter() - started, 1e-9))
            _to_host(pending, out, feature_map)
        mine = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
        gather_rows(mine, out.rewards, out.features, out.mapped)
    finally:
        if hook is not None:
            hook.remove()
        model.model.train(was_training)
    return out


def _to_host(pending: list, out: Forward, feature_map: Callable | None) -> None:
    """Copy the pending passes' outputs into ``out`` (at their rows), one copy per output —
    the features, or what ``feature_map`` makes of them — and forget them."""
    if not pending:
        return
    rows = np.concatenate([item[0] for item in pending])
    out.rewards[rows] = torch.cat([item[1] for item in pending]).double().cpu().numpy()
    if pending[0][2] is not None:
        block = torch.cat([item[2] for item in pending]).float().cpu().numpy()
        if feature_map is None:
            out.features[rows] = block
        else:
            out.mapped[rows] = feature_map(block)
    pending.clear()
