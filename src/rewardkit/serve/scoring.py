"""What the server asks of a reward model: turn request texts into token ids, score id
sequences, and describe itself for ``GET /info``.

Two encodings, both the same code path as ``rewardkit score`` where they overlap:

=========================  ===================================================================
input                      token ids
=========================  ===================================================================
(prompt, response)         ``RewardModel.encoder.encode_single``: the model's own template
                           (text prompts: ``prompt + " " + response``; chat prompts: its chat
                           template), EOS appended for decoders, prompt cut from the left when
                           too long. Used by ``/score`` and by ``/get_reward`` when the query
                           starts with its prompt.
one whole text             the text tokenized as it is, with the tokenizer's special tokens
                           (a doubled BOS dropped), EOS appended for decoders, cut from the
                           left when too long. ``/get_reward`` without usable prompts.
=========================  ===================================================================

Rewards come from the one scorer (:class:`rewardkit.model.scorer.Scorer`, opened by
:func:`rewardkit.model.loading.load_reward_model`): a single model, K heads on one backbone, or
K member models. Ensembles report their spread, the std of the member rewards (ddof 0; Coste
et al. 2023), next to every reward. Members must tokenize alike (same vocabulary, template and
max length), since the server encodes each text once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewardkit.data.records import Prompt
from rewardkit.files import sha256_tree
from rewardkit.model.loading import load_reward_model
from rewardkit.model.scorer import Scorer
from rewardkit.model.scores import Scores


@dataclass
class EncodedQuery:
    ids: list[int]
    truncated: bool
    prompt_split: bool  # True: scored as (prompt, response) with the model's template


class ScoringModel:
    """A loaded reward model (or ensemble) as the server uses it. Not thread-safe: the
    micro-batcher calls :meth:`score_sequences` from its single worker thread only."""

    def __init__(self, scorer: Scorer, *, name: str | None = None):
        self.scorer = scorer
        self.model = scorer.primary
        self.folder = scorer.source or None  # hashed for the fingerprint, never shown
        self.name = public_name(name or scorer.source or str(self.model.info.backbone))
        self.vocabulary_rows = min(_embedding_rows(m) for m in scorer.models)
        self._weights_sha256: str | None = None

    @classmethod
    def load(cls, path: str, *, name: str | None = None, **load_kwargs) -> "ScoringModel":
        """A model folder, an ensemble folder, or ``DIR1,DIR2,…`` (members); ``load_kwargs``
        are :func:`rewardkit.model.loading.load_reward_model`'s (precision, max_length, device).
        ``name``: what responses call the model (default: the folder's base name)."""
        return cls(load_reward_model(path, **load_kwargs), name=name or path)

    # ------------------------------------------------------------------ properties
    @property
    def is_ensemble(self) -> bool:
        return self.scorer.kind != "single"

    @property
    def members(self) -> int | None:
        return self.scorer.k if self.is_ensemble else None

    @property
    def max_length(self) -> int:
        return self.scorer.max_length

    @property
    def temperature(self) -> float:
        return self.scorer.temperature

    @property
    def temperature_calibrated(self) -> bool:
        return self.scorer.temperature_calibrated

    def describe_normalization(self) -> dict:
        norm = self.model.info.normalization
        return {"mean": float(norm.mean), "std": float(norm.std), "measured_on": norm.measured_on}

    def normalize(self, rewards: np.ndarray) -> np.ndarray:
        return np.asarray(self.scorer.normalize(np.asarray(rewards, dtype=np.float64)))

    # ------------------------------------------------------------------ encoding
    def encode_pair(self, prompt: Prompt, response: str) -> tuple[list[int], bool]:
        """Ids of (prompt, response) exactly as ``rewardkit score`` builds them; raises
        ValueError when the response alone is longer than max_length."""
        ids, truncated = self.model.encoder.encode_single(prompt, response)
        return list(ids), truncated

    def encode_query(self, query: str, prompt: str | None) -> EncodedQuery:
        """OpenRLHF's query: ``prompt + response`` when it starts with ``prompt``, else one text."""
        response = _strip_trailing(query, self.model.tokenizer.pad_token)
        if prompt and response.startswith(prompt):
            response = response[len(prompt) :]
            joiner = self.model.template.text_joiner
            if not prompt[-1].isspace() and joiner and response.startswith(joiner):
                response = response[len(joiner) :]  # the template puts the joiner back
            try:
                ids, truncated = self.encode_pair(prompt, response)
                return EncodedQuery(ids, truncated, True)
            except ValueError:
                pass  # the response alone is too long: score the whole text, cut from the left
        ids, truncated = self.encode_whole_text(query)
        return EncodedQuery(ids, truncated, False)

    def encode_whole_text(self, text: str) -> tuple[list[int], bool]:
        """``text`` tokenized as it is with the model's rules; left-truncated to max_length."""
        tokenizer = self.model.tokenizer
        text = _strip_trailing(text, tokenizer.pad_token)
        enc = tokenizer(
            text,
            add_special_tokens=True,
            return_special_tokens_mask=True,
            truncation=False,
            verbose=False,
        )
        ids, special = list(enc["input_ids"]), list(enc["special_tokens_mask"])
        bos = tokenizer.bos_token_id
        if bos is not None and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
            ids, special = ids[1:], special[1:]  # the text already had its BOS
        eos = tokenizer.eos_token_id
        if self.model.template.append_eos and eos is not None and (not ids or ids[-1] != eos):
            ids.append(eos)
            special.append(1)
        cut = len(ids) - self.max_length
        if cut <= 0:
            return ids, False
        head = 0
        while head < len(special) and special[head]:
            head += 1
        head = min(head, self.max_length - 1)
        return ids[:head] + ids[head + cut :], True

    # ------------------------------------------------------------------ scoring
    def sequence_problem(self, ids: list[int]) -> tuple[str, str] | None:
        """``(code, why)`` when ``ids`` cannot go through the model — empty, longer than
        ``max_length``, or a token id outside the embedding table (a tokenizer with more
        tokens than the model) — else None. Checked per request before batching, so such a
        text fails its own request instead of the forward pass it would share."""
        if not ids:
            return "empty_text", "encodes to no tokens at all"
        if len(ids) > self.max_length:
            return "too_long_for_model", (
                f"encodes to {len(ids)} tokens, over the model's max_length {self.max_length}"
            )
        highest = max(ids)
        if highest >= self.vocabulary_rows or min(ids) < 0:
            return "token_outside_vocabulary", (
                f"encodes to token id {highest}, outside the model's {self.vocabulary_rows} "
                "embedding rows (its tokenizer and weights disagree)"
            )
        return None

    def score_sequences(self, sequences: list[list[int]], *, batch_size: int) -> Scores:
        """Raw rewards (and the members' ones) of id sequences, through the one scorer."""
        return self.scorer.score_ids(sequences, batch_size=batch_size)

    # ------------------------------------------------------------------ description
    def weights_sha256(self) -> str | None:
        if self._weights_sha256 is None:
            folder = self.folder
            self._weights_sha256 = (sha256_tree(folder, "*.safetensors") if folder else "") or ""
        return self._weights_sha256 or None

    def device_name(self) -> str:
        """``cpu``, or ``cuda:N (GPU name)``."""
        device = getattr(self.model, "device", None)
        if device is None or device.type != "cuda":
            return "cpu"
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"

    def describe(self) -> dict:
        info = self.model.info
        return {
            "model": self.name,
            "backbone": public_name(str(info.backbone)),
            "template": info.template,
            "max_length": int(info.max_length),
            "scoring": info.scoring,
            "normalization": self.describe_normalization(),
            "temperature": self.temperature,
            "temperature_calibrated": self.temperature_calibrated,
            "precision": info.precision,
            "device": self.device_name(),
            "fingerprint": {
                "training_data": (info.data or {}).get("fingerprint"),
                "weights_sha256": self.weights_sha256(),
            },
            "ensemble": ({"members": self.members} if self.is_ensemble else None),
            "rewardkit_version": info.rewardkit_version,
        }


def public_name(spec: str) -> str:
    """What a response may show of a model or backbone: a local folder's base name (each one
    of ``DIR1,DIR2``), a hub id (``org/name``) as it is; never an absolute path, which would
    tell every client the server's file layout and user name."""
    names = []
    for part in (p.strip() for p in spec.split(",")):
        path = Path(part).expanduser()
        if path.is_absolute() or path.exists() or part.startswith((".", "~")):
            part = path.resolve().name or "model"
        names.append(part)
    return ",".join(names)


def _embedding_rows(model) -> int:
    embeddings = model.model.get_input_embeddings()
    return int(embeddings.num_embeddings)


def _strip_trailing(text: str, token: str | None) -> str:
    """Remove trailing copies of ``token`` (the policy's right padding, as OpenRLHF did)."""
    if token:
        while text.endswith(token):
            text = text[: -len(token)]
    return text
