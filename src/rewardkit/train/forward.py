"""The training forward: rewards of chosen and rejected for a list of encoded pairs.

================  ============================================================================
strategy          what one forward computes
================  ============================================================================
concatenated      one ``(2B, L)`` batch: chosen rows then rejected rows (TRL/OpenRLHF style)
prefix-sharing    one ``(B, L)`` batch: prompt once, then both responses, masked so they cannot
                  see each other (decoders; exact — see :mod:`rewardkit.train.prefix_sharing`)
packed            one ``(1, T)`` row: every text end to end, no padding, position ids restarting
                  per text (decoders; exact — see :mod:`rewardkit.train.packing`)
================  ============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rewardkit.errors import UserError
from rewardkit.model.backbone import is_causal_decoder
from rewardkit.model.collate import to_device
from rewardkit.model.device import autocast_for
from rewardkit.model.encode import EncodedPair
from rewardkit.train.batching import PairTargets, collate_pairs
from rewardkit.train.lora import without_peft
from rewardkit.train.packing import collate_packed, packed_rewards
from rewardkit.train.prefix_sharing import collate_shared_prefix, shared_prefix_rewards

STRATEGIES = ("auto", "concatenated", "prefix-sharing", "packed")


def resolve_strategy(requested: str, model, scoring_rule: str, processes: int = 1) -> str:
    """``auto`` picks prefix sharing for decoders (last-token scoring) in one process, else
    concatenated. Several processes: concatenated or packed (prefix sharing calls the backbone
    and head directly, past the engine's wrapper, whose forward is what synchronises the
    gradients; packing runs the wrapper's forward). Prefix sharing and packing need a causal
    decoder (:func:`rewardkit.model.backbone.is_causal_decoder`) scored at its last token."""
    decoder = scoring_rule == "last-token" and is_causal_decoder(without_peft(model))
    if requested == "auto":
        return "prefix-sharing" if decoder and processes == 1 else "concatenated"
    if requested == "prefix-sharing" and processes > 1:
        raise UserError(
            "--pair-forward prefix-sharing runs in one process; under a launcher use "
            "--pair-forward packed (decoders) or concatenated"
        )
    if requested in ("prefix-sharing", "packed") and not decoder:
        raise UserError(
            f"--pair-forward {requested} needs a decoder backbone (Llama-style, last-token "
            "scoring; an encoder reads absolute positions and token types); use "
            "--pair-forward concatenated"
        )
    return requested


@dataclass
class PairOutputs(PairTargets):
    """The two rewards of each pair, with its targets, on the training device."""

    r_chosen: torch.Tensor  # (B,) float32
    r_rejected: torch.Tensor  # (B,)
    tokens: int  # real (non-pad) tokens computed


def pair_forward(
    model,
    pairs: list[EncodedPair],
    *,
    strategy: str,
    pad_id: int,
    use_margin: bool,
    precision: str,
    device: torch.device,
    multiple_of: int = 1,
) -> PairOutputs:
    if strategy == "prefix-sharing":
        batch = collate_shared_prefix(pairs, pad_id, use_margin, multiple_of)
        with autocast_for(precision, device):
            r_c, r_r = shared_prefix_rewards(model, batch)
    elif strategy == "packed":
        batch = collate_packed(pairs, pad_id, use_margin, multiple_of)
        with autocast_for(precision, device):
            r_c, r_r = packed_rewards(model, batch, device)
    else:
        batch = collate_pairs(pairs, pad_id, use_margin, multiple_of)
        with autocast_for(precision, device):
            logits = model(
                input_ids=to_device(batch.input_ids, device),
                attention_mask=to_device(batch.attention_mask, device),
                use_cache=False,
            ).logits
        rewards = logits[:, 0].float()
        r_c, r_r = rewards[: batch.n_pairs], rewards[batch.n_pairs :]
    return PairOutputs(
        *batch.targets_on(device),
        r_chosen=r_c.float(),
        r_rejected=r_r.float(),
        tokens=batch.real_tokens,
    )
