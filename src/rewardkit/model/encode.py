"""Tokenizing pairs: one text per side, prompt cut from the left when a pair is too long.

Over-long policy (``--overlong``):

=================  ===========================================================================
truncate-prompt    (default) drop prompt tokens from the left, the same number for chosen and
                   rejected so both see the same context; the response is never cut. A pair
                   whose response alone does not fit is dropped and counted separately.
drop               drop every pair that does not fit.
error              stop at the first pair that does not fit (one line naming file:line).
=================  ===========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rewardkit.data.records import PreferencePair, Prompt
from rewardkit.errors import UserError
from rewardkit.model.template import TextTemplate

OVERLONG_POLICIES = ("truncate-prompt", "drop", "error")


@dataclass
class EncodedText:
    """Token ids of one rendered text and where its prompt tokens are (cuttable region)."""

    ids: list[int]
    prompt_start: int  # first cuttable prompt token (after BOS/[CLS])
    prompt_end: int  # first token of the response


@dataclass
class EncodedPair:
    chosen_ids: np.ndarray
    rejected_ids: np.ndarray
    margin: float
    tie: bool
    weight: float
    index: int  # position of the pair in the input list
    truncated: bool = False


@dataclass
class EncodeReport:
    """Counts of what the over-long policy did; every affected pair is counted."""

    n_pairs: int = 0
    n_kept: int = 0
    truncated: int = 0
    dropped_overlong: int = 0
    dropped_response_too_long: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"pairs": self.n_pairs, "kept": self.n_kept, "prompt_truncated": self.truncated,
                "dropped_overlong": self.dropped_overlong,
                "dropped_response_too_long": self.dropped_response_too_long}

    def summary(self, max_length: int) -> str:
        return (f"{self.n_pairs} pairs, max_length {max_length}: {self.truncated} prompt-truncated, "
                f"{self.dropped_response_too_long} dropped (a response alone is too long), "
                f"{self.dropped_overlong} dropped (over-long, --overlong drop); {self.n_kept} kept")


class TextEncoder:
    """Renders and tokenizes (prompt, response) texts exactly the way scores are computed."""

    def __init__(self, tokenizer, template: TextTemplate, max_length: int):
        if not getattr(tokenizer, "is_fast", False):
            raise UserError("rewardkit needs a fast (Rust) tokenizer for offsets; "
                            "this backbone only has a slow one")
        self.tokenizer = tokenizer
        self.template = template
        self.max_length = max_length
        # Leading special tokens (BOS/[CLS]) are never cut: those the tokenizer adds, and those a
        # chat template writes as text (add_special_tokens=False leaves them unmarked).
        self._uncuttable = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}

    def encode_text(self, prompt: Prompt, response: str) -> EncodedText:
        text, response_start, add_special = self.template.render(self.tokenizer, prompt, response)
        enc = self.tokenizer(text, add_special_tokens=add_special, return_offsets_mapping=True,
                             return_special_tokens_mask=True, truncation=False, verbose=False)
        ids = list(enc["input_ids"])
        special = enc["special_tokens_mask"]
        offsets = enc["offset_mapping"]
        prompt_start = 0
        while prompt_start < len(ids) and (special[prompt_start]
                                           or ids[prompt_start] in self._uncuttable):
            prompt_start += 1
        prompt_end = prompt_start
        while (prompt_end < len(ids) and not special[prompt_end]
               and offsets[prompt_end][1] <= response_start):
            prompt_end += 1
        eos = self.tokenizer.eos_token_id
        if self.template.append_eos and eos is not None and (not ids or ids[-1] != eos):
            ids.append(eos)
        return EncodedText(ids, prompt_start, prompt_end)

    def encode_single(self, prompt: Prompt, response: str) -> tuple[list[int], bool]:
        """Ids for scoring one response: ``(ids, truncated)``; the prompt is cut from the left.
        Raises ValueError when the response alone does not fit."""
        enc = self.encode_text(prompt, response)
        cut = len(enc.ids) - self.max_length
        if cut <= 0:
            return enc.ids, False
        if enc.prompt_end - enc.prompt_start < cut:
            raise ValueError("response alone is longer than max_length")
        return _cut(enc, cut), True

    def encode_pairs(self, pairs: list[PreferencePair], overlong: str = "truncate-prompt",
                     ) -> tuple[list[EncodedPair], EncodeReport]:
        if overlong not in OVERLONG_POLICIES:
            raise UserError(f"--overlong {overlong!r} is not one of {', '.join(OVERLONG_POLICIES)}")
        report = EncodeReport(n_pairs=len(pairs))
        encoded: list[EncodedPair] = []
        for index, pair in enumerate(pairs):
            item = self._encode_pair(index, pair, overlong, report)
            if item is not None:
                encoded.append(item)
        report.n_kept = len(encoded)
        return encoded, report

    def _encode_pair(self, index, pair, overlong, report) -> EncodedPair | None:
        chosen = self.encode_text(pair.prompt, pair.chosen)
        rejected = self.encode_text(pair.prompt, pair.rejected)
        cut = max(len(chosen.ids), len(rejected.ids)) - self.max_length
        truncated = cut > 0
        if truncated:
            where = pair.source or f"pair {index}"
            room = min(chosen.prompt_end - chosen.prompt_start,
                       rejected.prompt_end - rejected.prompt_start)
            if overlong == "error":
                raise UserError(f"pair is {cut + self.max_length} tokens, over --max-length "
                                f"{self.max_length}; raise --max-length or pass "
                                "--overlong truncate-prompt|drop", where=where)
            if overlong == "drop":
                report.dropped_overlong += 1
                report.examples.setdefault("dropped_overlong", []).append(where)
                return None
            if room < cut:
                report.dropped_response_too_long += 1
                report.examples.setdefault("dropped_response_too_long", []).append(where)
                return None
            report.truncated += 1
            chosen_ids, rejected_ids = _cut(chosen, cut), _cut(rejected, cut)
        else:
            chosen_ids, rejected_ids = chosen.ids, rejected.ids
        return EncodedPair(np.asarray(chosen_ids, dtype=np.int32),
                           np.asarray(rejected_ids, dtype=np.int32),
                           float(pair.margin), bool(pair.tie), float(pair.weight), index, truncated)


def _cut(enc: EncodedText, n: int) -> list[int]:
    """Remove ``n`` prompt tokens from the left of the prompt region."""
    return enc.ids[:enc.prompt_start] + enc.ids[enc.prompt_start + n:]

