"""Tokenizing texts and pairs exactly as they are scored: one text per (prompt, response).

What happens to a text longer than the max length is :mod:`rewardkit.model.overlong`'s rule;
this module finds where each text's prompt and response are (from the tokenizer's offsets) so
the rule can cut them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rewardkit.data.records import PreferencePair, Prompt
from rewardkit.errors import UserError
from rewardkit.model.overlong import (
    PAIR_POLICIES,
    TEXT_POLICIES,
    Fitted,
    check_policy,
    fit_pair,
    fit_text,
)
from rewardkit.model.template import ChatTemplateRefused, TextTemplate

TOKENIZE_CHUNK = 1024  # texts per batched tokenizer call (bounded memory on large files)


class EncodedText:
    """Token ids of one rendered text and where its parts are: ``prompt_start`` is the first
    prompt token after BOS/[CLS], ``prompt_end`` the response's first token, ``response_end``
    the first token after the response (the template's closing tokens, [SEP], EOS follow).
    The parts are found from the tokenizer's offsets on first use: only texts that must be cut
    need them."""

    def __init__(self, ids: list[int], encoding, response: tuple[int, int], uncuttable: set[int]):
        self.ids = ids
        self._encoding = encoding
        self._response = response  # (first, end) character offsets of the response
        self._uncuttable = uncuttable
        self._parts: tuple[int, int, int] | None = None

    @property
    def prompt_start(self) -> int:
        return self._find_parts()[0]

    @property
    def prompt_end(self) -> int:
        return self._find_parts()[1]

    @property
    def prompt_length(self) -> int:
        """Prompt tokens the rule may cut."""
        return self.prompt_end - self.prompt_start

    @property
    def cuttable(self) -> int:
        """Tokens the rule may cut: the prompt's and the response's."""
        return self._find_parts()[2] - self.prompt_start

    def _find_parts(self) -> tuple[int, int, int]:
        if self._parts is None:
            special, offsets = self._encoding.special_tokens_mask, self._encoding.offsets
            n = len(offsets)  # without an EOS the template appends
            first, end_char = self._response
            start = 0
            while start < n and (special[start] or self.ids[start] in self._uncuttable):
                start += 1
            end = start
            while end < n and not special[end] and offsets[end][1] <= first:
                end += 1
            stop = end
            while stop < n and not special[stop] and offsets[stop][0] < end_char:
                stop += 1
            self._parts = (start, end, stop)
        return self._parts


@dataclass
class EncodedPair:
    chosen_ids: np.ndarray
    rejected_ids: np.ndarray
    margin: float
    tie: bool
    weight: float
    index: int  # position of the pair in the input list
    removed_chosen: int = 0  # tokens the over-length rule cut from each side
    removed_rejected: int = 0
    label: float = 1.0  # P(chosen ≻ rejected): 1 for a hard label, else the pair's soft label

    @property
    def truncated(self) -> bool:
        return bool(self.removed_chosen or self.removed_rejected)


@dataclass
class EncodeReport:
    """Counts of what the over-long policy did; every affected pair is counted."""

    n_pairs: int = 0
    n_kept: int = 0
    truncated: int = 0  # pairs cut at all
    response_truncated: int = 0  # pairs with a response cut (``--overlong truncate``)
    dropped_overlong: int = 0
    dropped_response_too_long: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "pairs": self.n_pairs,
            "kept": self.n_kept,
            "truncated": self.truncated,
            "response_truncated": self.response_truncated,
            "dropped_overlong": self.dropped_overlong,
            "dropped_response_too_long": self.dropped_response_too_long,
        }

    def summary(self, max_length: int) -> str:
        return (
            f"{self.n_pairs} pairs, max_length {max_length}: {self.truncated} truncated "
            f"({self.response_truncated} of them in a response), "
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
            batch = items[start : start + TOKENIZE_CHUNK]
            rendered = [self._render(start + i, p, r) for i, (p, r) in enumerate(batch)]
            chunk: list[EncodedText | None] = [None] * len(rendered)
            for add_special in {r[2] for r in rendered}:
                rows = [i for i, r in enumerate(rendered) if r[2] == add_special]
                encodings = self._rust_encode([rendered[i][0] for i in rows], add_special)
                for i, encoding in zip(rows, encodings):
                    ids = encoding.ids
                    if eos is not None and (not ids or ids[-1] != eos):
                        ids.append(eos)
                    first = rendered[i][1]
                    span = (first, first + len(batch[i][1]))
                    chunk[i] = EncodedText(ids, encoding, span, self._uncuttable)
            out.extend(chunk)
        return out

    def _render(self, index: int, prompt: Prompt, response: str) -> tuple[str, int, bool]:
        """:meth:`TextTemplate.render`; a template's refusal names text ``index``."""
        try:
            return self.template.render(self.tokenizer, prompt, response)
        except ChatTemplateRefused as refused:
            raise ChatTemplateRefused(refused.reason, index) from None

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

    def encode_whole_texts(self, texts: Sequence[str]) -> list[EncodedText]:
        """Texts taken as they are (no template), with the tokenizer's special tokens (a BOS the
        text already has is not doubled) and, for decoders, EOS appended: the whole text is the
        "response" for the over-length rule. The server's ``/get_reward`` scores a query this
        way when it does not start with its prompt."""
        encodings = self._rust_encode(list(texts), True) if texts else []
        bos = self.tokenizer.bos_token_id
        eos = self.tokenizer.eos_token_id if self.template.append_eos else None
        out = []
        for text, encoding in zip(texts, encodings):
            ids = encoding.ids
            if bos is not None and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
                ids, encoding = ids[1:], _WithoutFirstToken(encoding)
            if eos is not None and (not ids or ids[-1] != eos):
                ids.append(eos)
            out.append(EncodedText(ids, encoding, (0, len(text)), self._uncuttable))
        return out

    def fit_texts(
        self,
        items: Sequence[tuple[Prompt, str]],
        overlong: str = "truncate",
    ) -> list[Fitted]:
        """The ids each (prompt, response) is scored on, under the over-length rule
        (:mod:`rewardkit.model.overlong`; ``error`` raises ``ResponseTooLongError`` naming the
        first text whose response alone does not fit)."""
        check_policy(overlong, TEXT_POLICIES)
        return [
            fit_text(text, self.max_length, overlong, index)
            for index, text in enumerate(self.encode_texts(items))
        ]

    def fit_whole_texts(self, texts: Sequence[str], overlong: str = "truncate") -> list[Fitted]:
        """:meth:`encode_whole_texts` under the over-length rule."""
        check_policy(overlong, TEXT_POLICIES)
        return [
            fit_text(text, self.max_length, overlong, index)
            for index, text in enumerate(self.encode_whole_texts(texts))
        ]

    def encode_pairs(
        self,
        pairs: list[PreferencePair],
        overlong: str = "truncate",
    ) -> tuple[list[EncodedPair], EncodeReport]:
        """Both texts of every pair under the over-length rule; dropped pairs are counted in
        the report (with their ``file:line``)."""
        check_policy(overlong, PAIR_POLICIES)
        report = EncodeReport(n_pairs=len(pairs))
        encoded: list[EncodedPair] = []
        for start in range(0, len(pairs), TOKENIZE_CHUNK):
            chunk = pairs[start : start + TOKENIZE_CHUNK]
            try:
                texts = self.encode_texts(
                    [(p.prompt, side) for p in chunk for side in (p.chosen, p.rejected)]
                )
            except ChatTemplateRefused as refused:
                k = refused.index // 2
                where = chunk[k].source or f"pair {start + k}"
                raise ChatTemplateRefused(refused.reason, start + k, where) from None
            for k, pair in enumerate(chunk):
                item = self._encode_pair(
                    start + k, pair, texts[2 * k], texts[2 * k + 1], overlong, report
                )
                if item is not None:
                    encoded.append(item)
        report.n_kept = len(encoded)
        return encoded, report

    def _encode_pair(
        self,
        index,
        pair,
        chosen: EncodedText,
        rejected: EncodedText,
        overlong: str,
        report: EncodeReport,
    ) -> EncodedPair | None:
        where = pair.source or f"pair {index}"
        fitted = fit_pair(chosen, rejected, self.max_length, overlong, where)
        if isinstance(fitted, str):  # dropped, and why
            setattr(report, fitted, getattr(report, fitted) + 1)
            report.examples.setdefault(fitted, []).append(where)
            return None
        fit_c, fit_r = fitted
        if fit_c.truncated or fit_r.truncated:
            report.truncated += 1
            report.response_truncated += (
                fit_c.removed > chosen.prompt_length or fit_r.removed > rejected.prompt_length
            )
        return EncodedPair(
            np.asarray(fit_c.ids, dtype=np.int32),
            np.asarray(fit_r.ids, dtype=np.int32),
            float(pair.margin),
            bool(pair.tie),
            float(pair.weight),
            index,
            fit_c.removed,
            fit_r.removed,
            pair.hard_or_soft_label,
        )


class _WithoutFirstToken:
    """An encoding's offsets and special-token mask without its first token (a doubled
    BOS removed)."""

    def __init__(self, encoding):
        self.offsets = encoding.offsets[1:]
        self.special_tokens_mask = encoding.special_tokens_mask[1:]


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_json(payload: dict) -> str:
    return _sha256_text(json.dumps(payload, sort_keys=True))
