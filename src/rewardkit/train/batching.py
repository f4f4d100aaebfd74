"""Length-grouped batches of encoded pairs, and their collation into one forward.

A batch of B pairs becomes one ``(2B, L)`` tensor: chosen rows first, then rejected rows
(the concatenated forward of TRL/OpenRLHF), right-padded to the batch's own longest text.
Every pair forward's batch (this one, prefix sharing's, packing's) extends
:class:`PairTargets`: what the loss needs of each pair besides its two rewards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rewardkit.model.collate import pad_right, to_device
from rewardkit.model.encode import EncodedPair


def pair_length(pair: EncodedPair) -> int:
    return max(len(pair.chosen_ids), len(pair.rejected_ids))


def length_grouped_batches(
    lengths: np.ndarray,
    batch_size: int,
    seed: int,
    group_by_length: bool = True,
    mega_batch: int = 50,
) -> list[np.ndarray]:
    """One epoch's batches of indices, deterministic in ``seed``.

    Shuffle, cut into mega-batches of ``mega_batch × batch_size``, sort each by length (long
    first) and chunk it, then shuffle the batch order: similar lengths share a batch (little
    padding) while the epoch stays random (as HF's LengthGroupedSampler).
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches = []
    span = mega_batch * batch_size
    for start in range(0, len(order), span):
        chunk = order[start : start + span]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    permuted = rng.permutation(len(batches))
    return [batches[i] for i in permuted]


def process_share(rows: np.ndarray, rank: int, processes: int) -> np.ndarray:
    """Process ``rank``'s contiguous part of one global batch (``np.array_split``: the parts
    differ by at most one pair; a short last batch may leave a process none)."""
    return np.array_split(rows, processes)[rank]


@dataclass
class PairTargets:
    """What the loss needs of each of B pairs besides its two rewards; every pair forward's
    batch extends it (construct one as ``Batch(*pair_targets(pairs, use_margin), ...)``)."""

    margin: torch.Tensor  # (B,); 0 without --use-margin
    tie: torch.Tensor  # (B,) bool
    weight: torch.Tensor  # (B,)

    @property
    def n_pairs(self) -> int:
        return self.margin.shape[0]

    def targets_on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(margin, tie, weight)`` on ``device``."""
        return tuple(to_device(t, device) for t in (self.margin, self.tie, self.weight))


def pair_targets(
    pairs: list[EncodedPair], use_margin: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(margin, tie, weight)`` of :class:`PairTargets`, each ``(B,)``."""
    return (
        torch.tensor([p.margin if use_margin else 0.0 for p in pairs], dtype=torch.float32),
        torch.tensor([p.tie for p in pairs], dtype=torch.bool),
        torch.tensor([p.weight for p in pairs], dtype=torch.float32),
    )


@dataclass
class PairBatch(PairTargets):
    input_ids: torch.Tensor  # (2B, L): chosen rows, then rejected rows
    attention_mask: torch.Tensor

    @property
    def real_tokens(self) -> int:
        return int(self.attention_mask.sum())


def collate_pairs(
    pairs: list[EncodedPair], pad_id: int, use_margin: bool = True, multiple_of: int = 1
) -> PairBatch:
    ids, mask = pad_right(
        [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs],
        pad_id,
        multiple_of=multiple_of,
    )
    return PairBatch(*pair_targets(pairs, use_margin), input_ids=ids, attention_mask=mask)


def soft_labels(pairs: list[EncodedPair], device) -> torch.Tensor | None:
    """The batch's soft labels P(chosen ≻ rejected) ``(B,)`` for the loss, or None when every
    pair has a hard label (the plain Bradley–Terry loss then runs unchanged)."""
    labels = [p.label for p in pairs]
    if all(label == 1.0 for label in labels):
        return None
    return torch.tensor(labels, dtype=torch.float32, device=device)
