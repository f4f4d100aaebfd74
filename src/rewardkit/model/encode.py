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

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rewardkit.data.records import PreferencePair, Prompt
from rewardkit.errors import UserError
from rewardkit.model.template import TextTemplate

OVERLONG_POLICIES = ("truncate-prompt", "drop", "error")
TOKENIZE_CHUNK = 1024  # texts per batched tokenizer call (bounded memory on large files)


class EncodedText:
    """Token ids of one rendered text, and where its prompt tokens are (the cuttable region:
    ``prompt_start`` is the first prompt token after BOS/[CLS], ``prompt_end`` the response's
    first token). The region is found from the tokenizer's offsets on first use: only texts
    that must be cut need it."""

    def __init__(self, ids: list[int], encoding, response_start: int, uncuttable: set[int]):
        self.ids = ids
        self._encoding = encoding
        self._response_start = response_start
        self._uncuttable = uncuttable
        self._region: tuple[int, int] | None = None

    @property
    def prompt_start(self) -> int:
        return self._prompt_region()[0]

    @property
    def prompt_end(self) -> int:
        return self._prompt_region()[1]

    def _prompt_region(self) -> tuple[int, int]:
        if self._region is None:
            special, offsets = self._encoding.special_tokens_mask, self._encoding.offsets
            n = len(offsets)  # without an EOS the template appends
            start = 0
            while start < n and (special[start] or self.ids[start] in self._uncuttable):
                start += 1
            end = start
            while end < n and not special[end] and offsets[end][1] <= self._response_start:
                end += 1
            self._region = (start, end)
        return self._region


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
        return {
            "pairs": self.n_pairs,
            "kept": self.n_kept,
            "prompt_truncated": self.truncated,
            "dropped_overlong": self.dropped_overlong,
            "dropped_response_too_long": self.dropped_response_too_long,
        }

    def summary(self, max_length: int) -> str:
        return (
            f"{self.n_pairs} pairs, max_length {max_length}: {self.truncated} prompt-truncated, "
            f"{self.dropped_response_too_long} dropped (a response alone is too long), "
            f"{self.dropped_overlong} dropped (over-long, --overlong drop); {self.n_kept} kept"
        )


class TextEncoder:
    """Renders and tokenizes (prompt, response) texts exactly the way scores are computed."""

    def __init__(self, tokenizer, template: TextTemplate, max_length: int):
        if not getattr(tokenizer, "is_fast", False):
            raise UserError(
                "rewardkit needs a fast (Rust) tokenizer for offsets; "
                "this backbone only has a slow one"
            )
        self.tokenizer = tokenizer
        self.template = template
        self.max_length = max_length
        # Leading special tokens (BOS/[CLS]) are never cut: those the tokenizer adds, and those a
        # chat template writes as text (add_special_tokens=False leaves them unmarked).
        self._uncuttable = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
        self._tokenizer_digest: str | None = None

    def signature(self) -> str:
        """sha256 of everything that decides a text's token ids: the tokenizer's definition
        and special tokens, the template and ``max_length``. Two encoders with one signature
        encode every text alike."""
        if self._tokenizer_digest is None:
            backend = self.tokenizer.backend_tokenizer.to_str()
            special = {k: str(v) for k, v in sorted(self.tokenizer.special_tokens_map.items())}
            self._tokenizer_digest = _sha256_json(
                {"backend": _sha256_text(backend), "special": special}
            )
        return _sha256_json(
            {
                "tokenizer": self._tokenizer_digest,
                "template": self.template.to_dict(),
                "max_length": self.max_length,
            }
        )

    def encode_text(self, prompt: Prompt, response: str) -> EncodedText:
        return self.encode_texts([(prompt, response)])[0]

    def encode_texts(self, items: Sequence[tuple[Prompt, str]]) -> list[EncodedText]:
        """:meth:`encode_text` of many texts: one batched tokenizer call per chunk, which the
        Rust tokenizer spreads over the cores (a GPU host's scoring is otherwise bound by
        tokenizing one text at a time)."""
        out: list[EncodedText] = []
        eos = self.tokenizer.eos_token_id if self.template.append_eos else None
        for start in range(0, len(items), TOKENIZE_CHUNK):
            rendered = [
                self.template.render(self.tokenizer, prompt, response)
                for prompt, response in items[start : start + TOKENIZE_CHUNK]
            ]
            chunk: list[EncodedText | None] = [None] * len(rendered)
            for add_special in {r[2] for r in rendered}:
                rows = [i for i, r in enumerate(rendered) if r[2] == add_special]
                encodings = self._rust_encode([rendered[i][0] for i in rows], add_special)
                for i, encoding in zip(rows, encodings):
                    ids = encoding.ids
                    if eos is not None and (not ids or ids[-1] != eos):
                        ids.append(eos)
                    chunk[i] = EncodedText(ids, encoding, rendered[i][1], self._uncuttable)
            out.extend(chunk)
        return out

    def _rust_encode(self, texts: list[str], add_special_tokens: bool) -> list:
        """The Rust tokenizer's ``encode_batch``, as ``tokenizer(texts, truncation=False)``
        calls it (no truncation, no padding, the tokenizer's own ``split_special_tokens``),
        without building Python lists of the outputs rewardkit does not read."""
        backend = self.tokenizer.backend_tokenizer
        if backend.truncation is not None:
            backend.no_truncation()
        if backend.padding is not None:
            backend.no_padding()
        split = bool(getattr(self.tokenizer, "split_special_tokens", False))
        if backend.encode_special_tokens != split:
            backend.encode_special_tokens = split
        return backend.encode_batch(texts, add_special_tokens=add_special_tokens)

    def encode_single(self, prompt: Prompt, response: str) -> tuple[list[int], bool]:
        """Ids for scoring one response: ``(ids, truncated)``; the prompt is cut from the left.
        Raises ValueError when the response alone does not fit."""
        fitted = self.encode_singles([(prompt, response)])[0]
        if fitted is None:
            raise ValueError("response alone is longer than max_length")
        return fitted

    def encode_singles(
        self,
        items: Sequence[tuple[Prompt, str]],
    ) -> list[tuple[list[int], bool] | None]:
        """:meth:`encode_single` of many texts (batched); None where the response alone does
        not fit, so the caller can name the item."""
        out: list[tuple[list[int], bool] | None] = []
        for enc in self.encode_texts(items):
            cut = len(enc.ids) - self.max_length
            if cut <= 0:
                out.append((enc.ids, False))
            elif enc.prompt_end - enc.prompt_start < cut:
                out.append(None)
            else:
                out.append((_cut(enc, cut), True))
        return out

    def encode_pairs(
        self,
        pairs: list[PreferencePair],
        overlong: str = "truncate-prompt",
    ) -> tuple[list[EncodedPair], EncodeReport]:
        if overlong not in OVERLONG_POLICIES:
            raise UserError(f"--overlong {overlong!r} is not one of {', '.join(OVERLONG_POLICIES)}")
        report = EncodeReport(n_pairs=len(pairs))
        encoded: list[EncodedPair] = []
        for start in range(0, len(pairs), TOKENIZE_CHUNK):
            chunk = pairs[start : start + TOKENIZE_CHUNK]
            texts = self.encode_texts(
                [(p.prompt, side) for p in chunk for side in (p.chosen, p.rejected)]
            )
            for k, pair in enumerate(chunk):
                item = self._encode_pair(
                    start + k, pair, texts[2 * k], texts[2 * k + 1], overlong, report
                )
                if item is not None:
                    encoded.append(item)
        report.n_kept = len(encoded)
        return encoded, report

    def _encode_pair(
        self, index, pair, chosen: EncodedText, rejected: EncodedText, overlong, report
    ) -> EncodedPair | None:
        cut = max(len(chosen.ids), len(rejected.ids)) - self.max_length
        truncated = cut > 0
        if truncated:
            where = pair.source or f"pair {index}"
            room = min(
                chosen.prompt_end - chosen.prompt_start, rejected.prompt_end - rejected.prompt_start
            )
            if overlong == "error":
                raise UserError(
                    f"pair is {cut + self.max_length} tokens, over --max-length "
                    f"{self.max_length}; raise --max-length or pass "
                    "--overlong truncate-prompt|drop",
                    where=where,
                )
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
        return EncodedPair(
            np.asarray(chosen_ids, dtype=np.int32),
            np.asarray(rejected_ids, dtype=np.int32),
            float(pair.margin),
            bool(pair.tie),
            float(pair.weight),
            index,
            truncated,
        )


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_json(payload: dict) -> str:
    return _sha256_text(json.dumps(payload, sort_keys=True))


def _cut(enc: EncodedText, n: int) -> list[int]:
    """Remove ``n`` prompt tokens from the left of the prompt region."""
    return enc.ids[: enc.prompt_start] + enc.ids[enc.prompt_start + n :]
