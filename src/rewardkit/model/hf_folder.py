"""Opening a checked folder with ``transformers``: the tokenizer, the sequence classifier, and
the longest text the pair can read.

Weights come from safetensors only (``use_safetensors=True``: nothing is unpickled), and
``trust_remote_code`` is passed through as the user gave it (off by default). What
``transformers`` still refuses after :mod:`rewardkit.model.folder_check` is turned into one
line naming the folder. A saved reward model must bring every weight: a head that
``transformers`` would fill with random numbers scores garbage, so it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rewardkit.errors import UserError

T = TypeVar("T")

PLAIN_FOLDER_MAX_LENGTH = 4096  # a plain HF folder's max length when nothing says less
# Model types whose position ids start after the padding index (RoBERTa's 514 positions
# hold 512 tokens).
PADDING_OFFSET_TYPES = frozenset(
    {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "roberta-prelayernorm", "xmod"}
)
UNBOUNDED = 1_000_000  # a tokenizer model_max_length at or above this means "not set"
LOAD_ERRORS = (OSError, ValueError, RuntimeError)


def load_tokenizer(source: str | Path, trust_remote_code: bool):
    """``AutoTokenizer`` for ``source``."""
    from transformers import AutoTokenizer

    return _auto_load(AutoTokenizer, "tokenizer", source, trust_remote_code)


def load_config(source: str | Path, trust_remote_code: bool):
    """``AutoConfig`` for ``source`` (a backbone folder or hub id)."""
    from transformers import AutoConfig

    return _auto_load(AutoConfig, "config", source, trust_remote_code)


HINTS = {
    "tokenizer": "check the tokenizer files, or restore the folder from a complete copy",
    "config": "pass a local folder, or a hub id while online",
}


def _auto_load(auto, what: str, source: str | Path, trust_remote_code: bool):
    return refused_in_one_line(
        what,
        source,
        HINTS[what],
        lambda: auto.from_pretrained(source, trust_remote_code=trust_remote_code),
    )


def load_classifier(source: str | Path, trust_remote_code: bool, *, complete: bool, **overrides):
    """``AutoModelForSequenceClassification(num_labels=1)`` from safetensors. ``complete``:
    every weight must come from the folder (a saved reward model); a backbone gets a new
    head."""
    from transformers import AutoModelForSequenceClassification

    model, info = refused_in_one_line(
        "model",
        source,
        "rewardkit loads safetensors weights (model.safetensors) of a Hugging Face model folder",
        lambda: AutoModelForSequenceClassification.from_pretrained(
            source,
            num_labels=1,
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
            output_loading_info=True,
            **overrides,
        ),
    )
    missing = list(info.get("missing_keys") or []) + list(info.get("mismatched_keys") or [])
    if complete and missing:
        names = ", ".join(sorted(map(str, missing))[:3])
        raise UserError(
            f"the weights lack {len(missing)} tensor(s) the model needs ({names}): not a "
            "reward model (a backbone? train one with `rewardkit train --backbone` on it), "
            "or an incomplete copy",
            where=str(Path(source) / "model.safetensors"),
        )
    return model


def refused_in_one_line(what: str, source: str | Path, hint: str, load: Callable[[], T]) -> T:
    """``load()``, with what ``transformers`` raises about the folder turned into one line."""
    try:
        return load()
    except LOAD_ERRORS as exc:
        raise UserError(
            f"transformers cannot load the {what} ({first_line(exc)}); {hint}", where=str(source)
        ) from None


def length_limit(config, tokenizer) -> tuple[int | None, str]:
    """The most tokens the model can read: the smaller of its position embeddings and its
    tokenizer's ``model_max_length``, with what set it; ``(None, "")`` when neither says."""
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        if getattr(config, "model_type", None) in PADDING_OFFSET_TYPES:
            positions -= (getattr(config, "pad_token_id", None) or 0) + 1
        limits.append((positions, f"its {positions} position embeddings"))
    told = getattr(tokenizer, "model_max_length", None)
    if isinstance(told, int) and 0 < told < UNBOUNDED:
        limits.append((told, f"its tokenizer's model_max_length {told}"))
    return min(limits) if limits else (None, "")


def check_max_length(requested: int, limit: tuple[int | None, str], where: str | Path) -> int:
    """``requested`` (``--max-length``), refused with one line when the model cannot read it."""
    most, because = limit
    if most is not None and requested > most:
        raise UserError(
            f"--max-length {requested} is more than this model reads ({because}); use "
            f"--max-length {most} or less",
            where=str(where),
        )
    return requested


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (``transformers`` writes paragraphs)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def no_dropout_overrides(source: str | Path, trust_remote_code: bool) -> dict:
    """Config overrides that set every dropout probability to 0 (TRL disables dropout too)."""
    config = load_config(source, trust_remote_code)
    return {
        key: 0.0
        for key, value in config.to_dict().items()
        if "dropout" in key and isinstance(value, float)
    }
