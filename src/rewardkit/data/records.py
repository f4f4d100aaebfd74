"""The one in-memory record: a preference pair.

=============  ==========================================================================
field          meaning
=============  ==========================================================================
prompt         text (``str``) or chat messages (``list[{"role", "content"}]``)
chosen         the preferred response (text; may be empty, but not both sides)
rejected       the other response
margin         preference strength, added inside the loss: -log σ(r_c - r_r - margin)
tie            True when annotators judged both equal (chosen/rejected order is arbitrary)
weight         loss weight; rankings of K replies give each of their C(K,2) pairs 1/C(K,2)
label          optional soft label P(chosen ≻ rejected) in [0, 1]; None means 1 (a hard label)
subset         task family / category, for per-subset accuracy
annotator      who judged the pair, when known
id             a stable identifier (source file:line when the data has none)
source         ``file:line`` the record came from, for error messages
=============  ==========================================================================
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Union

Message = dict[str, str]
Prompt = Union[str, list[Message]]

# The chat roles rewardkit accepts in a prompt's messages (the roles every common chat template
# renders); data files and server requests with another or an empty role are refused.
CHAT_ROLES = ("system", "user", "assistant")


@dataclass
class PreferencePair:
    prompt: Prompt
    chosen: str
    rejected: str
    margin: float = 0.0
    tie: bool = False
    weight: float = 1.0
    label: float | None = None
    subset: str | None = None
    annotator: str | None = None
    id: str | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hard_or_soft_label(self) -> float:
        """P(chosen ≻ rejected) as training reads it: the soft label, or 1 when there is none."""
        return 1.0 if self.label is None else float(self.label)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict in rewardkit's explicit format (readable back by the readers)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("extra", "source")}
        for key, default in (("margin", 0.0), ("tie", False), ("weight", 1.0)):
            if out[key] == default:
                out.pop(key)
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class ScoredItem:
    """A single prompt/response to score (the input of ``rewardkit score`` for non-pair records)."""

    prompt: Prompt
    response: str
    id: str | None = None
    source: str | None = None


def prompt_text(prompt: Prompt) -> str:
    """The canonical text of a prompt: itself, or ``json.dumps(messages, sort_keys=True,
    ensure_ascii=False)`` for chat messages. Used for hashing and grouping."""
    if isinstance(prompt, str):
        return prompt
    return json.dumps(prompt, sort_keys=True, ensure_ascii=False)


def prompt_hash(prompt: Prompt) -> int:
    """``int(sha256(prompt_text(prompt).encode("utf-8")).hexdigest(), 16)``: the split key."""
    return int(hashlib.sha256(prompt_text(prompt).encode("utf-8")).hexdigest(), 16)
