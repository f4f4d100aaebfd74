"""Padding-free packing for decoder backbones: a batch's texts end to end in ONE row.

Krell et al. (2021), "Efficient Sequence Packing without Cross-contamination" (arXiv
2107.02027). Layout of a batch of B pairs (T tokens, no attention mask):

    [ chosen 1 | chosen 2 | … | rejected 1 | … | rejected B | padding ]
      0 … n₁-1   0 … n₂-1        0 … m₁-1         0 … m_B-1    0 … k-1     ← position_ids

transformers reads every restart of ``position_ids`` as the start of another sequence
(``masking_utils.find_packed_sequence_indices``: any step other than +1) when no attention
mask is given, and keeps the sequences apart: sdpa, eager and flex_attention through the mask
it builds from them, flash-attention through varlen kernels cut at the same restarts
(``prepare_fa_kwargs_from_position_ids``). Rotary embeddings read each token's own position,
so every token computes what it computes in its own row of the padded forward.

The reward of a text is the head at its last token (the appended EOS): the token the padded
forward's HF pooling reads (the last non-pad token). The head's per-token output is taken
from the model's own forward by a hook, so DDP, FSDP and DeepSpeed see one ordinary forward
of the module they wrap.

What it saves depends on the attention kernel: no padding token reaches any layer, but sdpa
and eager are given a dense ``(T, T)`` mask and compute every score in it (attention grows
with the square of the whole batch), while flex_attention skips the blocks the mask leaves
empty and flash-attention's varlen kernels never form them. Padding up to a multiple
(``--pad-to-multiple``) goes at the end, as a sequence of its own.

Packing needs a backbone that keeps texts apart given only position ids; :func:`check_packing`
tries that once, at the start of training, and refuses in one line when it does not hold (a
custom attention kernel transformers builds no mask for, remote code that ignores position
ids). Encoders are refused before that (:func:`rewardkit.model.backbone.is_causal_decoder`, in
:func:`rewardkit.train.forward.resolve_strategy`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from rewardkit.errors import UserError
from rewardkit.model.collate import pad_right, to_device
from rewardkit.model.encode import EncodedPair
from rewardkit.train.batching import PairTargets, pair_targets
from rewardkit.train.lora import without_peft


@dataclass
class PackedRow:
    input_ids: torch.Tensor  # (1, T): every text end to end, then padding
    position_ids: torch.Tensor  # (1, T): 0 … n-1 within each text (and within the padding)
    ends: torch.Tensor  # (N,) index of each text's last token

    @property
    def real_tokens(self) -> int:
        return int(self.ends[-1]) + 1


@dataclass
class PackedBatch(PairTargets):
    row: PackedRow  # the chosen texts, then the rejected texts

    @property
    def real_tokens(self) -> int:
        return self.row.real_tokens


def pack_texts(
    texts: Sequence[np.ndarray | list[int]], pad_id: int, multiple_of: int = 1
) -> PackedRow:
    """Lay ``texts`` end to end, positions restarting at 0 for each; the row is padded up to a
    multiple of ``multiple_of`` with ``pad_id`` tokens that count from 0 again."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    if lengths.min() < 1:
        raise ValueError("every packed text needs at least one token")
    real = int(lengths.sum())
    width = -(-real // multiple_of) * multiple_of
    ids = np.full(width, pad_id, dtype=np.int64)
    ids[:real] = np.concatenate([np.asarray(t, dtype=np.int64) for t in texts])
    starts = np.cumsum(lengths) - lengths
    positions = np.concatenate(
        [np.arange(real) - np.repeat(starts, lengths), np.arange(width - real)]
    )
    return PackedRow(
        torch.from_numpy(ids)[None],
        torch.from_numpy(positions)[None],
        torch.from_numpy(starts + lengths - 1),
    )


def collate_packed(
    pairs: list[EncodedPair], pad_id: int, use_margin: bool = True, multiple_of: int = 1
) -> PackedBatch:
    row = pack_texts(
        [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs], pad_id, multiple_of
    )
    return PackedBatch(*pair_targets(pairs, use_margin), row=row)


def inner_model(model):
    """The HF model inside whatever wraps it: the engine (DDP, FSDP, DeepSpeed: ``.module``)
    and peft (the LoRA layers and the head's trained copy stay in it)."""
    while isinstance(getattr(model, "module", None), torch.nn.Module):
        model = model.module
    return without_peft(model)


@contextmanager
def head_calls(model) -> Iterator[dict]:
    """``{"input", "output"}`` of the reward head in the forwards of ``model`` inside the
    block: its input is the last hidden state ``(rows, T, H)``, its output ``(rows, T, 1)``."""
    seen: dict = {}

    def keep(module, args, output):
        seen["input"], seen["output"] = args[0], output

    handle = inner_model(model).score.register_forward_hook(keep)
    try:
        yield seen
    finally:
        handle.remove()


def packed_rewards(
    model, batch: PackedBatch, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(r_chosen, r_rejected)`` from one forward of ``model`` (a HF
    ``*ForSequenceClassification`` decoder, possibly in peft and an engine's wrapper) over the
    packed row: the head's output at each text's last token."""
    with head_calls(model) as seen:
        out = model(
            input_ids=to_device(batch.row.input_ids, device),
            position_ids=to_device(batch.row.position_ids, device),
            use_cache=False,
        )
    rewards = seen["output"][0, to_device(batch.row.ends, device), 0].float()
    # The engine's backward hooks hang on the forward's outputs (FSDP queues its end-of-backward
    # work from them), so the returned logits join the loss, with weight 0.
    rewards = rewards + 0.0 * out.logits.float().sum()
    return rewards[: batch.n_pairs], rewards[batch.n_pairs :]


PROBE_TEXTS = (list(range(3, 9)), list(range(9, 12)))  # two short texts of token ids


def check_packing(model, pad_id: int, device: torch.device) -> None:
    """Refuse ``--pair-forward packed`` in one line unless ``model`` keeps packed texts apart:
    the head's input at each probe text's last token, packed, must be what the right-padded
    forward gives (relative 1e-3 in fp32, 5e-2 in lower precision; a text that sees another
    one, or reads another position, is off by far more). One forward of 9 tokens and one of
    2 × 6, in eval mode, without autocast."""
    config = inner_model(model).config
    vocab = int(config.vocab_size)
    texts = [[token % vocab for token in text] for text in PROBE_TEXTS]
    row = pack_texts(texts, pad_id)
    ids, mask = pad_right(texts, pad_id)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            with head_calls(model) as packed:
                model(
                    input_ids=to_device(row.input_ids, device),
                    position_ids=to_device(row.position_ids, device),
                    use_cache=False,
                )
            with head_calls(model) as padded:
                model(
                    input_ids=to_device(ids, device),
                    attention_mask=to_device(mask, device),
                    use_cache=False,
                )
    finally:
        model.train(was_training)
    together = packed["input"][0, to_device(row.ends, device)].float()
    lasts = torch.tensor([len(t) - 1 for t in texts], device=device)
    alone = padded["input"][torch.arange(len(texts), device=device), lasts].float()
    error = float((together - alone).abs().max() / alone.abs().max().clamp_min(1e-12))
    tolerance = 1e-3 if packed["input"].dtype == torch.float32 else 5e-2
    if not error <= tolerance:
        attention = getattr(config, "_attn_implementation", "?")
        raise UserError(
            f"--pair-forward packed: this backbone (attention {attention}) does not keep packed "
            f"texts apart (relative difference {error:.1e} from the padded forward); use "
            "--pair-forward concatenated, or --attention sdpa"
        )
